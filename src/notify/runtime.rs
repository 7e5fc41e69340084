//! The notify service's running parts, built once from the settings: what the shared
//! context holds of it.

use std::time::Duration;

use super::model::NotifySettings;
use super::wechat::WxMessages;

pub struct Notifier {
    pub settings: NotifySettings,
    pub wechat: WxMessages,
}

impl Notifier {
    pub fn build(settings: &NotifySettings) -> anyhow::Result<Self> {
        Ok(Notifier {
            wechat: WxMessages::new(Duration::from_millis(settings.timeout_ms.max(100)))?,
            settings: settings.clone(),
        })
    }
}
