//! What `payments` (orders, WeChat Pay, refunds, day close) registers with the platform: see [`crate::web::feature`].

use std::time::Duration;

use poem::Route;

use crate::auth::model::Permission;
use crate::outbox::Handler;
use crate::web::feature::{Feature, Job, NavEntry};

pub struct Payments;

const NAV: &[NavEntry] = &[
    NavEntry {
        rank: 110,
        group: "收费",
        path: "/console/orders",
        label: "订单与退款",
    },
    NavEntry {
        rank: 120,
        group: "收费",
        path: "/console/settlement",
        label: "结算报表",
    },
    NavEntry {
        rank: 135,
        group: "订餐",
        path: "/console/meals/refunds",
        label: "停餐退款",
    },
];

impl Feature for Payments {
    fn name(&self) -> &'static str {
        "payments"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        let r = crate::payments::pages::parent_pay::mount(r);
        let r = crate::payments::pages::me::mount(r);
        let r = crate::payments::pages::orders::mount(r);
        let r = crate::payments::pages::meal_refunds::mount(r);
        crate::payments::pages::settlement::mount(r)
    }

    fn school_nav(&self) -> &'static [NavEntry] {
        NAV
    }

    fn handlers(&self) -> &'static [Handler] {
        &[Handler {
            kind: crate::payments::service::REFUND_EVENT,
            batch: 1,
            run: crate::payments::service::deliver_refunds,
        }]
    }

    fn jobs(&self) -> Vec<Job> {
        vec![
            // Unpaid orders close with their holds;
            // at start, orders paid while the server was down are settled by query.
            Job {
                name: "payments-sweeper",
                every: Duration::from_secs(30),
                run: |st, every| Box::pin(crate::payments::service::run_sweeper(st, every)),
            },
        ]
    }
}
