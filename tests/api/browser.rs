//! A real browser for the end-to-end journeys (issue #7): Debian's headless Chromium driven
//! over WebDriver by its own ChromeDriver, which each journey starts on a free port and
//! stops when it ends. Journeys run one at a time (a Chromium per core is already a lot on
//! a 2-core CI machine).
//!
//! `shot` saves the current page at 360 px (a phone, WeChat's browser width) and at 1366 px
//! (a PC) under `target/e2e/<journey>/`, and checks that the page really rendered at that
//! width.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use afterschool::clock::Clock;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn one_at_a_time() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| Semaphore::new(1))
}

pub struct Browser {
    pub client: Client,
    /// The app's address (`http://127.0.0.1:port`).
    pub base: String,
    dir: PathBuf,
    shots: u32,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    _turn: SemaphorePermit<'static>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium for the journey `name`.
    pub async fn start(name: &str, base: &str) -> Browser {
        Self::start_as(name, base, None).await
    }

    /// As [`Browser::start`], with the browser announcing itself as `user_agent` (WeChat's
    /// built-in browser, say).
    pub async fn start_as(name: &str, base: &str, user_agent: Option<&str>) -> Browser {
        let turn = one_at_a_time().acquire().await.expect("semaphore");
        assert!(
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
            "end-to-end tests need Debian's chromium and chromium-driver (bash .ci/setup installs them)"
        );
        let fonts = std::process::Command::new("fc-list")
            .arg(":lang=zh")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default();
        assert!(
            !fonts.is_empty(),
            "no Chinese font: screenshots would show empty boxes (bash .ci/setup installs fonts-wqy-microhei)"
        );
        let port = free_port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            "--lang=zh-CN".into(),
            "--window-size=1366,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if let Some(ua) = user_agent {
            args.push(format!("--user-agent={ua}"));
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        let mut client = None;
        for _ in 0..100 {
            // Plain HTTP to the local ChromeDriver: no TLS stack needed.
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let client = client.unwrap_or_else(|| panic!("chromium session: {last:?}"));
        let dir = super::helpers::repo_root().join("target/e2e").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        Browser {
            client,
            base: base.to_string(),
            dir,
            shots: 0,
            _driver: driver,
            _profile: profile,
            _turn: turn,
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// The element `css`, waiting for it to appear (pages load after a form post).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => panic!(
                "element {css}: {e}\nat {}:\n{}",
                self.path().await,
                self.text("body").await
            ),
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn click_link(&self, text: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("link {text}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click link {text}: {e}"));
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The visible text of the first element matching `css` (empty if none).
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// Reloads until `css`'s text contains `want` (payments confirm asynchronously).
    pub async fn reload_until(&self, css: &str, want: &str) -> String {
        let mut seen = String::new();
        for _ in 0..40 {
            seen = self.text(css).await;
            if seen.contains(want) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            self.client.refresh().await.expect("refresh");
        }
        panic!("{css} never showed {want:?}; last: {seen:?}");
    }

    /// Saves the page at 360 px and 1366 px wide as `NN-<label>-360.png` / `-1366.png`, and
    /// checks each picture has the width asked for (the page did lay out at that size).
    pub async fn shot(&mut self, label: &str) {
        self.shots += 1;
        for (w, h) in [(360u32, 780u32), (1366, 900)] {
            self.client
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("resize to {w}: {e}"));
            let inner: i64 = self
                .client
                .execute("return window.innerWidth", vec![])
                .await
                .ok()
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            assert_eq!(inner, i64::from(w), "viewport width for {label}");
            let png = self.client.screenshot().await.expect("screenshot");
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "screenshot is a PNG");
            let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
            assert_eq!(width, w, "screenshot width for {label}");
            let file = self.dir.join(format!("{:02}-{label}-{w}.png", self.shots));
            std::fs::write(&file, png).expect("write screenshot");
        }
        // Pages must never scroll sideways on a phone: nothing wider than the screen.
        self.client.set_window_size(360, 780).await.expect("resize");
        let overflow: i64 = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        self.client
            .set_window_size(1366, 900)
            .await
            .expect("resize");
        assert!(
            overflow <= 0,
            "{label}: page is {overflow}px wider than a 360px phone"
        );
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

impl Browser {
    /// Signs in through the sign-in page with a password (and a TOTP code when asked).
    pub async fn sign_in(&self, phone: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#phone", phone).await;
        self.fill("#password", password).await;
        self.click("#login-submit").await;
        // Wait for the answer to the post (a redirect away, or the form again with an
        // error), so that the next step does not race the redirect.
        for _ in 0..100 {
            if self.path().await != "/login" || self.exists(".error, .notice.error, #totp").await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sign-in of {phone} never answered");
    }
}

impl Browser {
    /// Signs an admin in through the sign-in page and binds the authenticator the TOTP page
    /// shows (admins must, the first time): the code is computed from the secret on the
    /// page at the test clock's time, as the admin's app would. Returns the secret.
    pub async fn sign_in_admin(&self, app: &super::helpers::TestApp, phone: &str) -> Vec<u8> {
        self.sign_in(phone, "Test#2026ok").await;
        let shown = self.find("#totp-secret").await.text().await.unwrap();
        let secret = data_encoding::BASE32_NOPAD
            .decode(shown.trim().as_bytes())
            .unwrap_or_else(|e| panic!("secret {shown:?}: {e}"));
        let code = afterschool::auth::totp::code_at(&secret, app.clock.now().timestamp());
        self.fill("#code", &code).await;
        self.click("form.stack button[type=submit]").await;
        self.find("main").await;
        secret
    }

    /// Signs an enrolled admin in again: password, then the authenticator's code when asked.
    pub async fn sign_in_with_code(
        &self,
        app: &super::helpers::TestApp,
        phone: &str,
        secret: &[u8],
    ) {
        self.sign_in(phone, "Test#2026ok").await;
        self.find("#totp").await;
        self.fill("#password", "Test#2026ok").await;
        self.fill(
            "#totp",
            &afterschool::auth::totp::code_at(secret, app.clock.now().timestamp()),
        )
        .await;
        self.click("#login-submit").await;
        self.find("main h1").await;
    }

    /// The 退出 button in the top bar.
    pub async fn sign_out(&self) {
        self.click("header.topbar form button").await;
        self.find("#login-form").await;
    }
}
