//! The private PostgreSQL cluster used when no `DATABASE_URL` is configured.
//!
//! Owns finding the server binaries, `initdb` on first use, start/reuse/stop, and the
//! superuser credentials (kept in `<dir>/cluster.json`, mode 0600). `initdb` refuses to run
//! as root, so as root every server command runs as the `postgres` system user through
//! `runuser`. Must never touch a cluster it did not create (the state file marks ours).

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};

const SUPERUSER: &str = "afterschool";
const STATE_FILE: &str = "cluster.json";

/// Settings written into `postgresql.conf`; the test harness adds its speed-ups.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub max_connections: u32,
    /// Only for throw-away clusters (tests): `fsync=off` and friends.
    pub durability_off: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            max_connections: 200,
            durability_off: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClusterState {
    port: u16,
    password: String,
}

#[derive(Debug)]
pub struct EmbeddedCluster {
    root: PathBuf,
    bin_dir: PathBuf,
    state: ClusterState,
    as_postgres_user: bool,
    /// True when this process started the server (so it stops it on shutdown).
    started_here: bool,
}

impl EmbeddedCluster {
    /// Initialises (first use) and starts the cluster under `root`, or reuses a running one.
    pub fn start(root: &Path, opts: &ClusterOptions) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        let as_postgres_user = is_root();
        fs::create_dir_all(root).with_context(|| format!("无法创建目录 {}", root.display()))?;
        let root = fs::canonicalize(root)?;
        let data = root.join("data");
        let state_path = root.join(STATE_FILE);

        let state = if data.join("PG_VERSION").exists() && state_path.exists() {
            let raw = fs::read_to_string(&state_path)?;
            serde_json::from_str(&raw).context("cluster.json 已损坏")?
        } else {
            if data.exists() {
                // A half-made cluster from an interrupted first start: start over.
                fs::remove_dir_all(&data)?;
            }
            let state = ClusterState {
                port: free_port()?,
                password: rand::thread_rng()
                    .sample_iter(&Alphanumeric)
                    .take(32)
                    .map(char::from)
                    .collect(),
            };
            let cluster = Self {
                root: root.clone(),
                bin_dir: bin_dir.clone(),
                state,
                as_postgres_user,
                started_here: false,
            };
            cluster.initdb(opts)?;
            fs::write(&state_path, serde_json::to_vec(&cluster.state)?)?;
            fs::set_permissions(&state_path, fs::Permissions::from_mode(0o600))?;
            cluster.state.clone()
        };

        let mut cluster = Self {
            root,
            bin_dir,
            state,
            as_postgres_user,
            started_here: false,
        };
        if !cluster.is_running() {
            cluster.pg_ctl(&["start", "-w", "-t", "60", "-l"], true)?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.state.port
    }

    /// Superuser URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.state.password, self.state.port
        )
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Stops the server if this process started it.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.started_here {
            self.pg_ctl(&["stop", "-m", "fast", "-w"], false)?;
            self.started_here = false;
        }
        Ok(())
    }

    /// Hands responsibility for stopping the server to the caller (or to nobody).
    pub fn detach(&mut self) {
        self.started_here = false;
    }

    fn is_running(&self) -> bool {
        self.pg_ctl(&["status"], false).is_ok()
    }

    fn initdb(&self, opts: &ClusterOptions) -> anyhow::Result<()> {
        let data = self.data_dir();
        fs::create_dir_all(&data)?;
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700))?;
        // initdb reads the password from a file; it must be readable by the server user.
        let pwfile = self.root.join(".pwfile");
        fs::write(&pwfile, &self.state.password)?;
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))?;
        if self.as_postgres_user {
            chown_postgres(&data)?;
            chown_postgres(&pwfile)?;
            // The server user must be able to reach the data directory.
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o755))?;
        }
        let data_s = data.to_string_lossy().to_string();
        let pw_s = pwfile.to_string_lossy().to_string();
        let result = self.run(
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                SUPERUSER,
                "--pwfile",
                &pw_s,
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        let _ = fs::remove_file(&pwfile);
        result?;

        let mut conf = format!(
            "\n# added by afterschool\nport = {}\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\nmax_connections = {}\nshared_buffers = 128MB\n\
             timezone = 'Asia/Shanghai'\nlog_timezone = 'Asia/Shanghai'\n",
            self.state.port, opts.max_connections
        );
        if opts.durability_off {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf_path = data.join("postgresql.conf");
        let mut existing = fs::read_to_string(&conf_path)?;
        existing.push_str(&conf);
        fs::write(&conf_path, existing)?;
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str], with_log: bool) -> anyhow::Result<()> {
        let data = self.data_dir().to_string_lossy().to_string();
        let log = self.data_dir().join("server.log");
        let log_s = log.to_string_lossy().to_string();
        let mut full: Vec<&str> = vec!["-D", &data];
        full.extend_from_slice(args);
        if with_log {
            full.push(&log_s);
        }
        self.run("pg_ctl", &full)
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin_dir.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = cmd
            .output()
            .with_context(|| format!("无法运行 {}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "{tool} {} 失败: {}{}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(())
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if self.started_here {
            if let Err(e) = self.stop() {
                tracing::warn!(error = %e, "stopping the embedded PostgreSQL failed");
            }
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn chown_postgres(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()?;
    if !status.success() {
        bail!(
            "无法把 {} 交给 postgres 系统用户（以 root 运行时内置数据库以 postgres 用户运行，请确认该用户存在）",
            path.display()
        );
    }
    Ok(())
}

/// `initdb` and `pg_ctl` from PATH, or the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // Follow symlinks so pg_ctl finds its sibling `postgres` binary.
                let real = fs::canonicalize(dir.join("initdb"))?;
                if let Some(parent) = real.parent() {
                    return Ok(parent.to_path_buf());
                }
            }
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_string_lossy().parse().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    match candidates.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "找不到 PostgreSQL 服务器程序 initdb/pg_ctl。请安装 Debian 软件包 postgresql \
             (apt-get install postgresql)，或设置 DATABASE_URL 指向已有的数据库。"
        ),
    }
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
