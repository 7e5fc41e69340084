//! The `afterschool` binary itself: `tenant apply|list|suspend` against `DATABASE_URL`, and
//! the embedded private cluster (created on first start, reused, stopped on Ctrl-C).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{demo_manifest_files, fresh_database, repo_root};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_afterschool"));
    c.current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env("AFTERSCHOOL_LOG", "warn");
    c
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[tokio::test]
async fn tenant_apply_is_idempotent_and_list_and_suspend_work_from_the_command_line() {
    let (_, url) = fresh_database().await;
    let files = demo_manifest_files();

    let (code, out, err) = run(bin()
        .env("DATABASE_URL", &url)
        .args(["tenant", "apply"])
        .args(&files));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("已创建").count(), 5, "{out}");

    let (code, out, _) = run(bin()
        .env("DATABASE_URL", &url)
        .args(["tenant", "apply"])
        .args(&files));
    assert_eq!(code, 0);
    assert_eq!(
        out.matches("无变化").count(),
        6,
        "five rows and the summary: {out}"
    );
    assert!(out.contains("全部 5 个租户均无变化"));

    let (code, out, _) = run(bin()
        .env("DATABASE_URL", &url)
        .args(["tenant", "suspend", "sqsf", "--reason", "测试"]));
    assert_eq!(code, 0, "{out}");
    let (_, list, _) = run(bin().env("DATABASE_URL", &url).args(["tenant", "list"]));
    let sqsf = list.lines().find(|l| l.starts_with("sqsf")).unwrap();
    assert!(
        sqsf.contains("已暂停") && sqsf.contains("石岐示范小学"),
        "{list}"
    );
    let sqhb = list.lines().find(|l| l.starts_with("sqhb")).unwrap();
    let latest = afterschool::tenancy::migrate::TenantSets::embedded()
        .unwrap()
        .school
        .latest();
    assert!(
        sqhb.contains("正常") && sqhb.contains(&format!(" {latest} ")),
        "{list}"
    );

    let (code, _, err) = run(bin()
        .env("DATABASE_URL", &url)
        .args(["tenant", "suspend", "nosuch"]));
    assert_eq!(code, 2);
    assert!(err.contains("找不到租户"));

    let (code, out, _) = run(bin()
        .env("DATABASE_URL", &url)
        .args(["migrate", "--jobs", "2"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("共 5 个租户") && out.contains("原已最新 5"),
        "{out}"
    );
}

#[tokio::test]
async fn tenant_apply_with_a_bad_manifest_names_file_and_line_and_creates_nothing() {
    let (_, url) = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let src = std::fs::read_to_string(&demo_manifest_files()[0]).unwrap();
    std::fs::write(&bad, src.replace("credit_code", "credit_kode")).unwrap();

    let (code, _, err) = run(bin()
        .env("DATABASE_URL", &url)
        .args(["tenant", "apply"])
        .arg(&demo_manifest_files()[1])
        .arg(&bad));

    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml:5:") && err.contains("credit_kode"),
        "{err}"
    );
    assert!(err.contains("未做任何更改"), "{err}");
    let (_, list, _) = run(bin().env("DATABASE_URL", &url).args(["tenant", "list"]));
    assert_eq!(list.lines().count(), 1, "only the header: {list}");
}

fn postmaster_running(data: &Path) -> bool {
    data.join("postmaster.pid").exists()
}

#[tokio::test]
async fn without_database_url_a_private_cluster_is_created_reused_and_stopped_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    // The cluster runs as the postgres user when we are root: it must reach the folder.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pg = dir.path().join("pg");
    let objects = dir.path().join("objects");
    let with_env = |c: &mut Command| {
        c.env("AFTERSCHOOL__DATABASE__DATA_DIR", &pg)
            .env("AFTERSCHOOL__STORAGE__LOCAL_DIR", &objects);
    };

    let log_path = dir.path().join("serve.log");
    let mut serve = bin();
    with_env(&mut serve);
    let mut child = serve
        .args(["serve", "--port", "0", "--log-format", "json"])
        .env("AFTERSCHOOL_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    let base = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("afterschool 已启动: ") {
            break rest.trim().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(120));
    };
    let state = std::fs::read_to_string(pg.join("cluster.json")).unwrap();
    assert!(postmaster_running(&pg.join("data")));
    let ready = reqwest::Client::new()
        .get(format!("{base}/readyz"))
        .header("X-Request-Id", "trace-cli-42")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // Ctrl-C
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on Ctrl-C");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success());
    assert!(
        !postmaster_running(&pg.join("data")),
        "the private cluster was stopped"
    );
    // Every log line of the request carries its id, as JSON.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let request_lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains("trace-cli-42"))
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    assert!(!request_lines.is_empty(), "{log}");
    for line in &request_lines {
        assert_eq!(line["span"]["request_id"], "trace-cli-42", "{line}");
    }
    assert!(request_lines.iter().any(|l| l["fields"]["status"] == 200));

    // The next start reuses the same cluster (no new initdb, same credentials and port).
    let mut list = bin();
    with_env(&mut list);
    let (code, out, err) = run(list.args(["tenant", "list"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(pg.join("cluster.json")).unwrap(),
        state
    );
    assert!(!postmaster_running(&pg.join("data")));
}

#[tokio::test]
async fn account_create_bootstraps_an_operator_and_refuses_a_second_operator_role() {
    let (_, url) = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let account = |role: &str| {
        let mut c = bin();
        c.env("DATABASE_URL", &url)
            .env("AFTERSCHOOL__SECURITY__KEYS_FILE", &keys)
            .args([
                "account",
                "create",
                "--phone",
                "13800000099",
                "--name",
                "运维甲",
                "--role",
                role,
            ]);
        c
    };

    let (code, out, err) = run(&mut account("operator_sys"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("系统管理员") && out.contains("初始密码"),
        "{out}"
    );
    let password = out
        .lines()
        .find_map(|l| l.split('：').nth(1))
        .unwrap()
        .trim()
        .to_string();
    assert!(afterschool::auth::password::check_complexity(&password).is_ok());

    let (code, _, err) = run(&mut account("operator_audit"));
    assert_eq!(code, 2);
    assert!(err.contains("三员分立"), "{err}");
    let (code, _, err) = run(&mut account("janitor"));
    assert_eq!(code, 2);
    assert!(err.contains("未知角色"), "{err}");
}
