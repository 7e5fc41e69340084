//! A real browser for the end-to-end journeys (issue #7): Debian's headless Chromium driven
//! over WebDriver by its own ChromeDriver, which each journey starts on a free port and
//! stops when it ends. Journeys run one at a time (a Chromium per core is already a lot on
//! a 2-core CI machine).
//!
//! Every wait is on a condition, with one generous deadline ([`PATIENCE`]): a loaded 2-core
//! machine may take seconds to answer a page, and a journey must not fail for that. The
//! browser is always stopped when the journey ends, pass or fail: ChromeDriver runs in its
//! own process group, which is killed as a whole (Chromium and its helpers with it) when the
//! [`Browser`] is dropped, also while a failed assertion unwinds.
//!
//! `shot` saves the current page at 360 px (a phone, WeChat's browser width) and at 1366 px
//! (a PC) under `target/e2e/<journey>/`, and checks that the page really rendered at that
//! width.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use afterschool::auth::model::Role;
use afterschool::clock::Clock;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::fixtures::FIRST_PHONE;
use crate::helpers::{free_port, TestApp, PASSWORD};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long any one condition may take before the journey fails.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// How often a condition is looked at again.
const POLL: Duration = Duration::from_millis(100);
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
    driver: tokio::process::Child,
    profile: tempfile::TempDir,
    _turn: SemaphorePermit<'static>,
}

impl Drop for Browser {
    /// Stops ChromeDriver and every Chromium process it started, whatever state the
    /// journey ended in. Chromium's helpers share the driver's process group; any process
    /// still naming this journey's profile folder (a helper that left the group) goes too.
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // SAFETY: killpg only sends a signal; the group is the one made at spawn.
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        let marker = format!("--user-data-dir={}", self.profile.path().display());
        if let Ok(procs) = std::fs::read_dir("/proc") {
            for p in procs.flatten() {
                let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                    continue;
                };
                let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&marker) {
                    // SAFETY: a signal to a process that carries this journey's profile.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
            }
        }
        let _ = self.driver.start_kill();
    }
}

fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    e.is_stale_element_reference()
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
            .process_group(0)
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
        let until = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < until {
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
            driver,
            profile,
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
            .at_most(PATIENCE)
            .every(POLL)
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

    /// Clicks `css`, finding it again if the page was replaced between finding and
    /// clicking (a slow answer to the previous step). When the click leads to another page
    /// (a link, or a form's submit button with the form valid), waits until that page has
    /// loaded: what the journey looks for next is then on the new page, never a leftover
    /// of the old one that goes stale under it.
    pub async fn click(&self, css: &str) {
        let until = tokio::time::Instant::now() + PATIENCE;
        loop {
            let el = self.find(css).await;
            match self.click_element(&el, css).await {
                Ok(()) => return,
                Err(e) if is_stale(&e) && tokio::time::Instant::now() < until => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Clicks `el` (named `what` in failures) and, when that leads to another page, waits
    /// for it to load.
    async fn click_element(
        &self,
        el: &fantoccini::elements::Element,
        what: &str,
    ) -> Result<(), fantoccini::error::CmdError> {
        let navigates = self.leads_elsewhere(el).await;
        // Centred first: an element already in the viewport is not scrolled by the click,
        // and one at its bottom edge lies under the phone layout's fixed tab bar.
        if let Ok(arg) = serde_json::to_value(el) {
            let _ = self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'}); return true",
                    vec![arg],
                )
                .await;
        }
        if navigates {
            let _ = self
                .client
                .execute("window.__journeyDoc = true; return true", vec![])
                .await;
        }
        el.click().await?;
        if navigates {
            self.until_new_page(what).await;
        }
        Ok(())
    }

    /// Whether clicking `el` loads another document in this tab.
    async fn leads_elsewhere(&self, el: &fantoccini::elements::Element) -> bool {
        const JS: &str = r#"var el = arguments[0], t = el.tagName.toLowerCase();
if (t === 'a') {
  var h = el.getAttribute('href') || '';
  return h !== '' && h[0] !== '#' && h.indexOf('javascript:') !== 0
    && !el.hasAttribute('download') && (el.target === '' || el.target === '_self');
}
var submit = (t === 'button' && (el.getAttribute('type') || 'submit') === 'submit')
  || (t === 'input' && (el.type === 'submit' || el.type === 'image'));
if (!submit || !el.form) return false;
return el.form.noValidate || el.formNoValidate || el.form.checkValidity();"#;
        let Ok(arg) = serde_json::to_value(el) else {
            return false;
        };
        self.client
            .execute(JS, vec![arg])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Waits until the document marked before a click has been replaced and the new one
    /// has loaded.
    async fn until_new_page(&self, after: &str) {
        let until = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < until {
            let loaded = self
                .client
                .execute(
                    "return window.__journeyDoc !== true && document.readyState === 'complete'",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if loaded {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!(
            "clicking {after} never loaded the next page (at {})",
            self.path().await
        );
    }

    pub async fn click_link(&self, text: &str) {
        let until = tokio::time::Instant::now() + PATIENCE;
        loop {
            let link = self
                .client
                .wait()
                .at_most(PATIENCE)
                .every(POLL)
                .for_element(Locator::LinkText(text))
                .await
                .unwrap_or_else(|e| panic!("link {text}: {e}"));
            match self.click_element(&link, text).await {
                Ok(()) => return,
                Err(e) if is_stale(&e) && tokio::time::Instant::now() < until => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("click link {text}: {e}"),
            }
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let until = tokio::time::Instant::now() + PATIENCE;
        loop {
            let el = self.find(css).await;
            let typed = match el.clear().await {
                Ok(()) => el.send_keys(value).await,
                Err(e) => Err(e),
            };
            match typed {
                Ok(()) => return,
                Err(e) if is_stale(&e) && tokio::time::Instant::now() < until => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("type into {css}: {e}"),
            }
        }
    }

    /// The visible text of the first element matching `css` (empty if none).
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..20 {
            let Ok(el) = self.client.find(Locator::Css(css)).await else {
                return String::new();
            };
            match el.text().await {
                Ok(t) => return t,
                // The page was replaced under us: read the new one.
                Err(e) if is_stale(&e) => tokio::time::sleep(POLL).await,
                Err(_) => return String::new(),
            }
        }
        String::new()
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
        let until = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < until {
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

    /// Ends the WebDriver session; the processes are stopped when `self` drops here.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
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
        let until = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < until {
            if self.path().await != "/login" || self.exists(".error, .notice.error, #totp").await {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("sign-in of {phone} never answered");
    }
}

impl Browser {
    /// Signs the guardian of family 0 (`fixtures::families`) in and agrees to the data
    /// rules, as a parent does on the first visit.
    pub async fn sign_in_first_parent(&self) {
        self.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
        self.click("#consent-agree").await;
    }

    /// A school admin of sqsf (phone `phone`), made and signed in on the console with the
    /// authenticator bound on the way; the console's home page is shown.
    pub async fn sign_in_school_admin(&self, app: &TestApp, phone: &str) {
        app.sign_in_as(phone, Role::SchoolAdmin, Some("sqsf")).await;
        self.sign_in_admin(app, phone).await;
        self.find("nav.side").await;
        assert_eq!(self.path().await, "/t/sqsf/console");
    }

    /// GETs `href` (a link on the page) with the browser's own session cookie.
    pub async fn fetch(&self, app: &TestApp, href: &str) -> reqwest::Response {
        let cookie = self.client.get_named_cookie("as_session").await.unwrap();
        app.request(reqwest::Method::GET, href, None)
            .header("cookie", format!("as_session={}", cookie.value()))
            .send()
            .await
            .unwrap()
    }

    /// Signs an admin in through the sign-in page and binds the authenticator the TOTP page
    /// shows (admins must, the first time): the code is computed from the secret on the
    /// page at the test clock's time, as the admin's app would. Returns the secret.
    pub async fn sign_in_admin(&self, app: &TestApp, phone: &str) -> Vec<u8> {
        self.sign_in(phone, PASSWORD).await;
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
    pub async fn sign_in_with_code(&self, app: &TestApp, phone: &str, secret: &[u8]) {
        self.sign_in(phone, PASSWORD).await;
        self.find("#totp").await;
        self.fill("#password", PASSWORD).await;
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

#[tokio::test]
async fn a_journey_that_fails_leaves_no_browser_behind() {
    // Issue 13.18: Chromium and ChromeDriver go with the journey, also when it panics.
    let app = super::helpers::spawn_app().await;
    let marker = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = marker.clone();
    let address = app.address.clone();
    let failed = tokio::spawn(async move {
        let b = Browser::start("leaves-nothing", &address).await;
        b.goto("/login").await;
        *seen.lock().unwrap() = format!("--user-data-dir={}", b.profile.path().display());
        panic!("the journey fails here");
    })
    .await;
    assert!(failed.is_err(), "the journey did fail");
    let marker = marker.lock().unwrap().clone();
    assert!(marker.starts_with("--user-data-dir=/"), "{marker}");
    let running = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|p| {
                let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
                String::from_utf8_lossy(&cmd).contains(&marker)
            })
            .count()
    };
    // SIGKILL is immediate, but the kernel reaps asynchronously: wait for it.
    let until = tokio::time::Instant::now() + PATIENCE;
    while running() > 0 && tokio::time::Instant::now() < until {
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(running(), 0, "Chromium processes outlived the journey");
}
