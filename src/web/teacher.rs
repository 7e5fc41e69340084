//! (being written)

use poem::Route;

pub fn mount(r: Route) -> Route {
    r
}
