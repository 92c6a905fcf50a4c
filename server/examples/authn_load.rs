//! Load client for a whole device authentication (create → device.select → otp.check), the
//! chained scenario `server/bench/load.sh` cannot express with wrk: `C` workers, each with its
//! own user holding two test-mode EMAIL devices, run flows back to back for `SECONDS` and the
//! client prints flows/s, requests/s and p50/p99 of single requests and of whole flows.
//!
//! ```text
//! cargo run --release -p mfa-devices-server --example authn_load -- \
//!     http://127.0.0.1:8080 <environmentID> <token> [connections=32] [seconds=10]
//! ```

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SELECT: &str = "application/vnd.pingidentity.device.select+json";
const CHECK: &str = "application/vnd.pingidentity.otp.check+json";

struct Worker {
    client: reqwest::Client,
    base: String,
    env: String,
    token: String,
}

impl Worker {
    async fn post(&self, url: &str, media: &str, body: Value) -> Result<(u16, Value), String> {
        let response = self
            .client
            .post(url)
            .bearer_auth(&self.token)
            .header("Content-Type", media)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response.json().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    /// A user with two active test-mode EMAIL devices: (user, second device id).
    async fn setup(&self, n: usize) -> Result<(String, String), String> {
        let user = uuid::Uuid::new_v4().to_string();
        let url = format!(
            "{}/v1/environments/{}/users/{user}/devices",
            self.base, self.env
        );
        let mut last = String::new();
        for i in 0..2 {
            let body = json!({"type": "EMAIL", "email": format!("load{n}.{i}@example.com"),
                "status": "ACTIVE", "testMode": true});
            let (status, device) = self.post(&url, "application/json", body).await?;
            if status != 201 {
                return Err(format!("creating a device: {status} {device}"));
            }
            last = device["id"].as_str().unwrap_or_default().to_owned();
        }
        Ok((user, last))
    }

    /// One flow; pushes each request's latency; returns the flow's.
    async fn flow(
        &self,
        user: &str,
        device: &str,
        requests: &mut Vec<Duration>,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        let flows = format!("{}/{}/deviceAuthentications", self.base, self.env);
        let t = Instant::now();
        let (status, flow) = self
            .post(&flows, "application/json", json!({"user": {"id": user}}))
            .await?;
        requests.push(t.elapsed());
        if status != 201 {
            return Err(format!("create: {status} {flow}"));
        }
        let url = format!("{flows}/{}", flow["id"].as_str().unwrap_or_default());
        let t = Instant::now();
        let (status, flow) = self
            .post(&url, SELECT, json!({"device": {"id": device}}))
            .await?;
        requests.push(t.elapsed());
        let otp = flow["test"]["otp"].as_str().unwrap_or_default().to_owned();
        if status != 200 || otp.is_empty() {
            return Err(format!("device.select: {status} {flow}"));
        }
        let t = Instant::now();
        let (status, flow) = self.post(&url, CHECK, json!({"otp": otp})).await?;
        requests.push(t.elapsed());
        if status != 200 || flow["status"] != "COMPLETED" {
            return Err(format!("otp.check: {status} {flow}"));
        }
        Ok(start.elapsed())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err(
            "usage: authn_load BASE_URL ENVIRONMENT_ID TOKEN [CONNECTIONS] [SECONDS]".into(),
        );
    }
    let connections: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(10);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .map_err(|e| e.to_string())?;
    let mut tasks = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds) + Duration::from_secs(2);
    for n in 0..connections {
        let worker = Worker {
            client: client.clone(),
            base: args[0].trim_end_matches('/').to_owned(),
            env: args[1].clone(),
            token: args[2].clone(),
        };
        tasks.push(tokio::spawn(async move {
            let (user, device) = worker.setup(n).await?;
            let (mut requests, mut flows, mut errors) = (Vec::new(), Vec::new(), 0u64);
            // Setup done: measure from the common start (2 s for every worker's setup).
            tokio::time::sleep_until((started + Duration::from_secs(2)).into()).await;
            while Instant::now() < deadline {
                match worker.flow(&user, &device, &mut requests).await {
                    Ok(d) => flows.push(d),
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("flow failed: {e}");
                        }
                    }
                }
            }
            Ok::<_, String>((requests, flows, errors))
        }));
    }
    let (mut requests, mut flows, mut errors) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        let (r, f, e) = task.await.map_err(|e| e.to_string())??;
        requests.extend(r);
        flows.extend(f);
        errors += e;
    }
    requests.sort();
    flows.sort();
    let secs = seconds as f64;
    println!(
        "authentication: {} flows ({} requests, {errors} failed) in {seconds} s: {:.0} flows/s, {:.0} req/s; request p50 {:.2} ms p99 {:.2} ms; whole flow p50 {:.2} ms p99 {:.2} ms",
        flows.len(),
        requests.len(),
        flows.len() as f64 / secs,
        requests.len() as f64 / secs,
        percentile(&requests, 50.0),
        percentile(&requests, 99.0),
        percentile(&flows, 50.0),
        percentile(&flows, 99.0),
    );
    Ok(())
}
