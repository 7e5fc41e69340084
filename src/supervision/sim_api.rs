//! The receiver simulator's endpoint, `POST /sim/supervision/push`, with the operator's
//! fault control applied before the request is read.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Body, Response};

use super::sim::{self, Fault};
use crate::kernel::ctx::Ctx;

/// A request body larger than this is refused unread (100 records fit in well under it).
const MAX_BODY: usize = 4 * 1024 * 1024;

#[handler]
pub async fn push(Data(st): Data<&Arc<Ctx>>, body: Body) -> Response {
    let Some(receiver) = st.supervision.sim.clone() else {
        return StatusCode::NOT_FOUND.into();
    };
    let (fault, delay) = match sim::fault(&st.db_app).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "supervision simulator: fault control unreadable");
            return StatusCode::SERVICE_UNAVAILABLE.into();
        }
    };
    match fault {
        Fault::Refuse => {
            let _ = sim::count_refused(&st.db_app).await;
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .content_type("application/json")
                .body(r#"{"data":{"code":"UNAVAILABLE","message":"服务暂不可用"}}"#);
        }
        Fault::Drop => {
            let _ = sim::count_refused(&st.db_app).await;
            // A body that fails after the head: the connection is cut mid-answer.
            let broken = futures::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
            });
            return Response::builder()
                .content_type("application/json")
                .body(Body::from_bytes_stream(broken));
        }
        Fault::Timeout | Fault::Slow => {
            let wait = if fault == Fault::Timeout && delay == 0 {
                30_000
            } else {
                delay
            };
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        Fault::None => {}
    }
    let raw = match body.into_bytes_limit(MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into(),
    };
    match receiver.receive(&st.db_app, &raw, st.clock.now()).await {
        Ok(a) => Response::builder()
            .status(StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_REQUEST))
            .content_type("application/json")
            .body(a.body.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "supervision simulator: store failed");
            StatusCode::INTERNAL_SERVER_ERROR.into()
        }
    }
}
