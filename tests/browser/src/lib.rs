//! Headless Chromium for SmartQueue's web views: starts `chromedriver` on a free port and
//! drives a fresh Chromium profile through fantoccini (plain HTTP to the local driver, no
//! TLS stack). The server under test is the real one, spawned by `sq_tests`.
//!
//! Missing Chromium is a failure under CI (`CI` set; `.ci/run` installs `chromium` and
//! `chromium-driver`), and a skip notice on a developer machine without it.

use fantoccini::{Client, ClientBuilder};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A chromedriver process and one browser session; both end when this is dropped.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        Command::new("sh")
            .args(["-c", &format!("command -v {n}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|p| !p.is_empty())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts Chromium at `width`×`height`. `None` (skip) only outside CI when Chromium or
    /// chromedriver is not installed.
    pub async fn start(width: u32, height: u32) -> Option<Self> {
        let driver = find(&["chromedriver"]);
        let chromium = find(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "chromium and chromium-driver must be installed under CI (.ci/run installs them)"
                );
            }
            eprintln!(
                "skipped: chromium / chromedriver not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = free_port();
        // Its own process group, so the browsers it starts die with it (a failed test must
        // not leave Chromium running).
        let child = Command::new(&driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile directory");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            // Background windows keep their timers (the display runs beside the console).
            "--disable-background-timer-throttling".into(),
            "--disable-renderer-backgrounding".into(),
            "--autoplay-policy=no-user-gesture-required".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("chromedriver: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Self {
            client,
            driver: child,
            _profile: profile,
        })
    }

    /// Closes the session and stops the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        drop(self);
    }

    fn kill_group(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// Text on the current page whose contrast with its background is under WCAG 2.1 AA
    /// (4.5:1, or 3:1 for large text: 24 px, or 18.66 px bold), as `tag.class "text" ratio`.
    /// The background is the nearest ancestor's colour that is not transparent (pages here
    /// use no background images under text).
    pub async fn contrast_failures(&self) -> Vec<String> {
        const CHECK: &str = r#"
            function rgb(c) { var m = c.match(/rgba?\(([^)]+)\)/); return m ? m[1].split(',').map(parseFloat) : null; }
            function lum(p) {
              var a = [p[0], p[1], p[2]].map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
              return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
            }
            function back(el) {
              for (; el; el = el.parentElement) { var p = rgb(getComputedStyle(el).backgroundColor); if (p && (p.length < 4 || p[3] > 0)) return p; }
              return [255, 255, 255];
            }
            var bad = [];
            document.querySelectorAll('body *').forEach(function (el) {
              var cs = getComputedStyle(el);
              if (cs.visibility === 'hidden' || cs.display === 'none' || !el.getClientRects().length) return;
              var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
              if (!own) return;
              var b = back(el), f = rgb(cs.color);
              if (f.length === 4) f = [0, 1, 2].map(function (i) { return f[i] * f[3] + b[i] * (1 - f[3]); });
              var l1 = lum(f), l2 = lum(b), r = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
              var size = parseFloat(cs.fontSize), large = size >= 24 || (parseInt(cs.fontWeight, 10) >= 700 && size >= 18.66);
              if (r < (large ? 3 : 4.5)) bad.push(el.tagName.toLowerCase() + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + r.toFixed(2));
            });
            return bad;
        "#;
        let found = self
            .client
            .execute(CHECK, vec![])
            .await
            .expect("contrast check");
        found
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a PNG of the current window under `docs/screenshots/` when
    /// `SQ_SCREENSHOTS=1` (the README gallery); otherwise only checks one can be taken.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if std::env::var("SQ_SCREENSHOTS").as_deref() == Ok("1") {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
            std::fs::create_dir_all(&dir).expect("screenshot directory");
            std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Polls `f` every 10 ms until it yields `Some`, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
