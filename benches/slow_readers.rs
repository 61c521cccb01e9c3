//! Half-closed slow readers (`benches/slow_readers.sh` runs it): `count`
//! connections that pipeline `requests` requests each, never read the
//! answers (a 4 KiB receive window) and then send FIN, held open for
//! `hold` seconds. The same recipe as `tests/hostile_clients.rs`.
//!
//! ```sh
//! cargo run --release --example slow_readers -- --port 3010 --count 600 --requests 1000 --hold 60
//! ```

use std::time::Duration;

use tokio::io::AsyncWriteExt;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    value.map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}: a number")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = arg("--port", 3010) as u16;
    let (count, requests, hold) = (arg("--count", 600), arg("--requests", 1000), arg("--hold", 60));
    let args: Vec<String> = std::env::args().collect();
    let path = args.iter().position(|a| a == "--path").and_then(|i| args.get(i + 1));
    let path = path.map_or("/api/public", String::as_str);
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let pipelined = request.repeat(requests as usize);
    let mut tasks = Vec::new();
    for _ in 0..count {
        let pipelined = pipelined.clone();
        tasks.push(tokio::spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let Ok(mut stream) = socket.connect(([127, 0, 0, 1], port).into()).await else {
                return false;
            };
            let sent = stream.write_all(pipelined.as_bytes()).await.is_ok();
            let _ = stream.shutdown().await;
            tokio::time::sleep(Duration::from_secs(hold)).await;
            sent
        }));
    }
    let mut sent = 0;
    for task in tasks {
        sent += u64::from(task.await.unwrap_or(false));
    }
    println!("connections that sent their requests and FIN: {sent} of {count}");
}
