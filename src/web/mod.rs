//! Server-rendered pages from the same binary as the API (R-X03, R-X06): the mobile H5 for
//! parents and teachers under `/t/<code>/m/…`, the PC console for school and agency admins
//! under `/t/<code>/console/…`, the platform console (bureau, operator) under `/console/…`,
//! and sign-in at `/login`.
//!
//! Pages call the same service functions as the JSON API, inside the same tenant
//! transactions and with the same permission checks; they never run SQL of their own.
//! Forms post to the server and are answered with a redirect (success) or the same page with
//! the error next to the field that caused it (failure). No script is needed to use them.

pub mod console;
pub mod feature;
pub mod forms;
pub mod frame;
pub mod layout;
pub mod nav;
pub mod session;

use poem::http::header;
use poem::{get, handler, EndpointExt, Response, Route};

use feature::Feature;
use frame::WebError;

#[handler]
fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(include_str!("app.css"))
}

/// All pages: the frame's own, then each feature's. Errors never leave as JSON: they are
/// pages too.
pub fn routes(features: &[&dyn Feature]) -> Route {
    let r = Route::new().at(layout::CSS_PATH, get(stylesheet));
    let r = console::mount(r);
    features.iter().fold(r, |r, f| f.mount_pages(r))
}

/// The pages wrapped so that every failure is answered as a page.
pub fn endpoint(features: &[&dyn Feature]) -> impl poem::Endpoint<Output = Response> {
    routes(features).catch_all_error(|e: poem::Error| async move {
        use poem::error::ResponseError;
        if e.is::<poem::error::NotFoundError>() {
            WebError::NotFound.as_response()
        } else {
            e.into_response()
        }
    })
}
