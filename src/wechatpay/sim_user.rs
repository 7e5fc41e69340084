//! The simulated WeChat user of a browser: a random id kept in a cookie, from which the
//! simulators (web OAuth, the subscription popup) derive the user's openid per app id, as
//! WeChat gives one user one openid per official account.

use sha2::{Digest, Sha256};

const COOKIE: &str = "sim_wx_uid";

/// The user id in the request's `Cookie` header, if it holds a well-formed one.
pub fn uid(cookie_header: Option<&str>) -> Option<String> {
    cookie_header?
        .split(';')
        .filter_map(|kv| kv.trim().strip_prefix("sim_wx_uid="))
        .next()
        .map(str::to_string)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The user's openid under `appid` (28 characters, starting with `o`, like WeChat's).
pub fn openid(appid: &str, uid: &str) -> String {
    format!(
        "o{}",
        &hex::encode(Sha256::digest(format!("{appid}:{uid}")))[..27]
    )
}

/// The `Set-Cookie` value that keeps the user in the browser.
pub fn cookie(uid: &str) -> String {
    format!("{COOKIE}={uid}; Path=/; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    #[test]
    fn openids_are_per_app_and_stable() {
        let uid = "0123456789abcdef0123456789abcdef";
        let a = super::openid("wx1", uid);
        assert_eq!(a.len(), 28);
        assert!(a.starts_with('o'));
        assert_eq!(a, super::openid("wx1", uid));
        assert_ne!(a, super::openid("wx2", uid));
        assert_eq!(
            super::uid(Some(&format!("a=b; sim_wx_uid={uid}"))),
            Some(uid.to_string())
        );
        assert_eq!(super::uid(Some("sim_wx_uid=short")), None);
    }
}
