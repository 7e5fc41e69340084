//! The parent's openid for JSAPI payments, from WeChat's silent web OAuth (`snsapi_base`).
//! The simulated WeChat OAuth the demo and the tests use is [`sim`].
//!
//! Flow: the H5 page asks [`authorize_url`] for the address to send the browser to; WeChat
//! sends it back to the page with `?code=…&state=…`; the page posts both to [`bind`], which
//! checks the state belongs to this session, exchanges the code at
//! `/sns/oauth2/access_token` and stores the openid for the merchant's app id.
//!
//! Must never send the browser, or the code, anywhere but to WeChat (or the simulator at
//! this server's own address) and back to a page of this platform.

pub mod sim;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::error::PaymentsError;
use super::repo;
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;

/// Where the simulated WeChat OAuth is served.
pub const SIM_PREFIX: &str = "/sim/wechat";
const LIVE_AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";
const LIVE_API: &str = "https://api.weixin.qq.com";

fn state_for(st: &Ctx, auth: &AuthContext) -> String {
    hex::encode(
        &st.keys
            .pii
            .blind_index("wx_oauth_state", &auth.session_id.to_string())[..12],
    )
}

/// Whether `uri` is a page of this platform. WeChat itself only returns to the registered
/// 网页授权域名.
fn is_ours(st: &Ctx, uri: &str) -> bool {
    st.is_our_page(uri)
}

/// The address to send the browser to; WeChat comes back to `redirect_uri` (a page of
/// this platform) with a code.
pub fn authorize_url(
    st: &Ctx,
    auth: &AuthContext,
    redirect_uri: &str,
) -> Result<String, PaymentsError> {
    if !is_ours(st, redirect_uri) {
        return Err(PaymentsError::OAuthRedirectInvalid {
            expected_origin: st.public_base(),
        });
    }
    let authorize = if st.wx_oauth.live {
        LIVE_AUTHORIZE.to_string()
    } else {
        format!("{}{SIM_PREFIX}/connect/oauth2/authorize", st.public_base())
    };
    let mut u = url::Url::parse(&authorize)?;
    u.query_pairs_mut()
        .append_pair("appid", st.wechatpay.appid())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "snsapi_base")
        .append_pair("state", &state_for(st, auth));
    u.set_fragment(Some("wechat_redirect"));
    Ok(u.to_string())
}

#[derive(Deserialize)]
struct TokenAnswer {
    openid: Option<String>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

/// Exchanges the code and stores the caller's openid.
pub async fn bind(
    st: &Ctx,
    auth: &AuthContext,
    code: &str,
    state: &str,
) -> Result<String, PaymentsError> {
    if state != state_for(st, auth) {
        return Err(PaymentsError::OAuthStateMismatch);
    }
    // The simulator is this very server: reached at its own address, never at one taken
    // from the request.
    let api = if st.wx_oauth.live {
        LIVE_API.to_string()
    } else {
        format!("{}{SIM_PREFIX}", st.local_base())
    };
    let secret = st
        .wx_oauth
        .app_secret
        .as_ref()
        .map(|s| s.expose_secret().to_string())
        .unwrap_or_else(|| "simulator".into());
    let answer: TokenAnswer = reqwest::Client::new()
        .get(format!("{api}/sns/oauth2/access_token"))
        .query(&[
            ("appid", st.wechatpay.appid()),
            ("secret", secret.as_str()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(PaymentsError::OAuthUnavailable)?
        .json()
        .await
        .map_err(PaymentsError::OAuthAnswerUnreadable)?;
    let Some(openid) = answer.openid else {
        return Err(PaymentsError::OAuthCodeInvalid {
            errcode: answer.errcode,
            errmsg: answer.errmsg,
        });
    };
    let mut conn = st.db_app.acquire().await?;
    repo::bind_openid(
        &mut conn,
        auth.account_id,
        st.wechatpay.appid(),
        &openid,
        st.clock.now(),
    )
    .await?;
    Ok(openid)
}
