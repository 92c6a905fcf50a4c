//! The binary's SIGTERM handling, on the real process: a request in flight when the signal
//! arrives is finished (and committed) before the process exits 0, and a signal during start-up
//! (the schema being applied) stops the server cleanly instead of killing it (exit 143).
//!
//! No timing is asserted: the request is held in flight with `Expect: 100-continue` (the
//! server answers `100 Continue` once the handler reads the body, so the test knows the
//! handler runs), and the test waits for the shutdown log line before sending the body. The
//! waits are bounded only to turn a hang into a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::common::{ENV_A, TOKEN_A, TempDir};

const USER: &str = "30000000-0000-4000-8000-000000000001";
const HANG: Duration = Duration::from_secs(60);

/// The server binary with its log lines (stdout) forwarded to a channel.
struct Server {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(database: &str, port: u16) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mfa-devices-server"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                database,
            ])
            .args(["--token", &format!("{ENV_A}={TOKEN_A}")])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a log line containing `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + HANG;
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no log line with {text:?}; the log: {:#?}", self.seen);
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + HANG;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reads one HTTP/1.1 response head (through the blank line) from `stream`.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads a response (head and `Content-Length` body).
fn read_response(stream: &mut TcpStream) -> (String, String) {
    let head = read_head(stream);
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

fn exit_code(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        None,
        "the server was killed by a signal ({status}) instead of shutting down"
    );
    status.code()
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let dir = TempDir::new();
    let database = format!("sqlite://{}", dir.0.join("shutdown.db").display());
    let port = free_port();
    let mut server = Server::start(&database, port);
    server.wait_for_line("serving");

    let connect = || {
        let deadline = Instant::now() + HANG;
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot connect: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    };
    let mut stream = connect();
    stream.set_read_timeout(Some(HANG)).unwrap();
    // The schema is applied before the first request is served.
    write!(stream, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let (head, body) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}{body}");

    let body = r#"{"type":"EMAIL","email":"in-flight@example.com","status":"ACTIVE"}"#;
    write!(
        stream,
        "POST /v1/environments/{ENV_A}/users/{USER}/devices HTTP/1.1\r\nHost: t\r\n\
         Authorization: Bearer {TOKEN_A}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    // `100 Continue`: the handler is running and waits for the body.
    let interim = read_head(&mut stream);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");

    sigterm(server.pid());
    server.wait_for_line("shutting down");
    stream.write_all(body.as_bytes()).unwrap();
    let (head, response) = read_response(&mut stream);
    assert!(
        head.starts_with("HTTP/1.1 201"),
        "the request in flight completes: {head}{response}"
    );
    let created: serde_json::Value = serde_json::from_str(&response).unwrap();
    assert_eq!(created["email"], "in-flight@example.com");

    let status = server.wait_exit();
    assert_eq!(exit_code(status), Some(0), "graceful shutdown exits 0");

    // The acknowledged write is committed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let events = runtime.block_on(async {
        let store = mfa_devices_server::open(&database).await.unwrap();
        store.load_events(ENV_A, USER).await.unwrap()
    });
    assert_eq!(events.len(), 1, "the in-flight create is in the log");
}

#[test]
fn sigterm_while_the_schema_is_applied_stops_cleanly() {
    // A "database" that accepts the connection and never answers: the server is stuck
    // applying the schema when the signal comes.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let database = format!(
        "postgres://nobody@127.0.0.1:{}/db",
        silent.local_addr().unwrap().port()
    );
    let mut server = Server::start(&database, free_port());
    silent.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + HANG;
    let _connection = loop {
        match silent.accept() {
            Ok((connection, _)) => break connection,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the server never connected");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    };
    sigterm(server.pid());
    let status = server.wait_exit();
    assert_eq!(exit_code(status), Some(0), "a clean stop exits 0");
    server.wait_for_line("shutting down");
}
