//! The API explorer page, served from the static folder at `/`.
//!
//! The folder is the `static_dir` setting; by default `static/` in the
//! working directory, else the one beside this crate's sources, so a release
//! binary run from elsewhere on the build machine still finds it. A missing
//! folder is logged with the places looked at; the API runs without it.

use std::path::{Path, PathBuf};

use figment::Figment;
use rocket::fs::FileServer;
use rocket::{Build, Rocket};

/// The folder to serve, if one exists, or every place looked at.
pub fn static_dir(figment: &Figment) -> Result<PathBuf, Vec<PathBuf>> {
    let candidates = match figment.extract_inner::<PathBuf>("static_dir") {
        Ok(configured) => vec![configured],
        Err(_) => {
            vec![PathBuf::from("static"), Path::new(env!("CARGO_MANIFEST_DIR")).join("static")]
        }
    };

    candidates.iter().find(|dir| dir.is_dir()).cloned().ok_or(candidates)
}

/// Mounts the explorer page at `/`, below every other route.
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    match static_dir(rocket.figment()) {
        Ok(dir) => rocket.mount("/", FileServer::from(dir)),
        Err(looked_at) => {
            log::warn!(
                "API explorer page not served: no static folder at {looked_at:?} (set `static_dir`)"
            );
            rocket
        }
    }
}
