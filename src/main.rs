//! Runs the service: `cargo run` (debug profile) or `cargo run --release`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use rocket::error::ErrorKind;

#[rocket::main]
async fn main() -> ExitCode {
    // As the Express sample's dotenv: variables from `./.env`, if present,
    // unless already set.
    let _ = dotenvy::dotenv();

    let rocket = auth0_rocket_api::rocket();
    // After the logger is installed (by `rocket()`), before any connection.
    auth0_rocket_api::open_files::raise_and_log();
    match rocket.launch().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            match error.kind() {
                ErrorKind::FailedFairings(failed) => {
                    // Each fairing logged why it failed; name which did.
                    let names: Vec<_> = failed.iter().map(|info| info.name).collect();
                    eprintln!(
                        "error: launch aborted: {} failed (reason logged above)",
                        names.join(", ")
                    );
                }
                kind => eprintln!("error: launch failed: {kind}"),
            }
            ExitCode::FAILURE
        }
    }
}
