//! The workspace's throwaway PostgreSQL cluster (`mfa-devices-testkit`) with a sync client.

use mfa_devices_testkit::PostgresCluster;

pub struct Cluster(PostgresCluster);

impl Cluster {
    /// Starts a cluster, or `None` (after printing why) when PostgreSQL is not installed and
    /// `MFA_REQUIRE_POSTGRES` is not `1`.
    pub fn start(test: &str) -> Option<Cluster> {
        PostgresCluster::start_or_skip(test).map(Cluster)
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.0.url(), postgres::NoTls).unwrap()
    }
}
