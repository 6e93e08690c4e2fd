//! A throwaway PostgreSQL cluster for the proxy's tests: `initdb` in a temporary directory,
//! started on a free loopback port, stopped and removed when dropped (also when the tests
//! fail). A cluster left behind by an interrupted run is stopped and removed by the next.

use std::env;
use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{is_root, run};

/// Temporary directories of clusters are named `PREFIX-PID-NANOS`.
const PREFIX: &str = "xtask-postgres-";

/// A running cluster; the superuser `postgres` connects without a password, from loopback
/// only.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// As root, the server runs as the `postgres` OS user (PostgreSQL refuses root).
    as_postgres: bool,
}

impl Cluster {
    /// Creates and starts a cluster with the programs in `bin` (`initdb`, `pg_ctl`).
    pub fn start(bin: &Path) -> Result<Cluster, String> {
        let as_postgres = is_root();
        stop_abandoned(bin, as_postgres);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = env::temp_dir().join(format!("{PREFIX}{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cluster = Cluster {
            bin: bin.to_owned(),
            dir,
            port: 0,
            as_postgres,
        };
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.dir))
            .map_err(|e| format!("{e} (running as root, the cluster belongs to the postgres user, which Debian's postgresql package creates)"))?;
        }
        let data = cluster.data().display().to_string();
        cluster.quiet(cluster.pg("initdb", &["-D", &data, "-U", "postgres", "--auth=trust"]))?;
        cluster.port = free_port()?;
        // Durability is worth nothing in a cluster that lives for one test run.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            cluster.port,
            cluster.dir.display()
        );
        let log = cluster.dir.join("server.log").display().to_string();
        let started = cluster.quiet(cluster.pg(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        ));
        if let Err(e) = started {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{e}\n{tail}"));
        }
        Ok(cluster)
    }

    /// The URL of the `postgres` database as its superuser (tests create their own
    /// databases from it).
    pub fn url(&self) -> String {
        url(self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `bin/program args`, as the postgres user when running as root.
    fn pg(&self, program: &str, args: &[&str]) -> Command {
        pg_command(&self.bin, program, args, self.as_postgres)
    }

    /// Runs a command whose output only matters when it fails.
    fn quiet(&self, mut cmd: Command) -> Result<(), String> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{:?} failed ({}):\n{}{}",
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        if self.port != 0 {
            let stopped = self.quiet(self.pg("pg_ctl", &["-D", &data, "-m", "fast", "stop"]));
            if let Err(e) = stopped {
                eprintln!("xtask: stopping the test PostgreSQL cluster: {e}");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// A loopback port nobody listens on now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))
}

fn pg_command(bin: &Path, program: &str, args: &[&str], as_postgres: bool) -> Command {
    let program = bin.join(program);
    if !as_postgres {
        let mut cmd = Command::new(program);
        cmd.args(args);
        return cmd;
    }
    // runuser (util-linux) needs no password as root and passes the arguments unchanged.
    let mut cmd = Command::new(runuser());
    cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
    cmd
}

/// runuser lives in /usr/sbin or /sbin, which a root shell may not have on PATH.
fn runuser() -> PathBuf {
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("runuser"))
}

/// Stops and removes the clusters of earlier runs whose xtask is gone (interrupted by
/// Ctrl-C, which pg_ctl's server does not hear: it runs in a session of its own).
fn stop_abandoned(bin: &Path, as_postgres: bool) {
    let Ok(entries) = fs::read_dir(env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let data = entry.path().join("data");
        if data.join("postmaster.pid").exists() {
            let data = data.display().to_string();
            let _ = pg_command(
                bin,
                "pg_ctl",
                &["-D", &data, "-m", "immediate", "stop"],
                as_postgres,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        }
        match fs::remove_dir_all(entry.path()) {
            Ok(()) => println!(
                "xtask: removed the test PostgreSQL cluster of an interrupted run ({name})"
            ),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => eprintln!("xtask: cannot remove {}: {e}", entry.path().display()),
        }
    }
}

/// The pid of the xtask that made a cluster directory, from its name.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, nanos) = rest.split_once('-')?;
    nanos.parse::<u128>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_directories_name_their_xtask() {
        assert_eq!(
            owner_pid("xtask-postgres-4242-1700000000000000000"),
            Some(4242)
        );
        assert_eq!(owner_pid("xtask-postgres-4242"), None);
        assert_eq!(owner_pid("xtask-postgres-x-1"), None);
        assert_eq!(owner_pid("wa-proxy-db-1234-5"), None);
    }

    #[test]
    fn the_url_names_the_superuser_on_loopback() {
        assert_eq!(url(5433), "postgres://postgres@127.0.0.1:5433/postgres");
    }

    #[test]
    fn as_root_the_programs_run_as_the_postgres_user() {
        let bin = Path::new("/usr/lib/postgresql/15/bin");
        let cmd = pg_command(bin, "initdb", &["-D", "/tmp/x"], true);
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-u",
                "postgres",
                "--",
                "/usr/lib/postgresql/15/bin/initdb",
                "-D",
                "/tmp/x"
            ]
        );
        let cmd = pg_command(bin, "initdb", &["-D", "/tmp/x"], false);
        assert_eq!(cmd.get_program(), "/usr/lib/postgresql/15/bin/initdb");
    }
}
