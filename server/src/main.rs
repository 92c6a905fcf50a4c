//! `mfa-devices-server`: the PingOne MFA devices API as a runnable service (SQLite or
//! PostgreSQL), embedding the `mfa-devices` crate. The workspace member is declared first; the
//! service itself is built up in the following commits.
fn main() {
    eprintln!("mfa-devices-server: not built yet");
    std::process::exit(1);
}
