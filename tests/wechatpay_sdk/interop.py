#!/usr/bin/env python3
"""Interop check of the WeChat Pay simulator against the independent Python SDK
`wechatpayv3` (PyPI), in public-key mode.

Run by `tests/api/wechatpay.rs` (`sdk_interop_*`), which starts the app, registers a merchant
with the simulator and writes a JSON file with the credentials and a few known answers
computed by our Rust code. Usage: `python3 interop.py CONFIG.json`. Exits non-zero with a
message on the first mismatch; prints `OK` at the end.

What it checks, all through the SDK's own signing and verification:
- our paySign and request signature equal the SDK's for the same key and message
  (PKCS#1 v1.5 is deterministic);
- JSAPI and H5 orders, query, close (204), refund and refund query, each answer verified by
  the SDK against the simulator's platform public key;
- the simulator's TRANSACTION.SUCCESS and REFUND.SUCCESS callbacks verify and decrypt with
  `wxpay.callback(headers, body)`, and a tampered one does not;
- business errors: closing a paid order (ORDERPAID), refunding too much (NOT_ENOUGH).
"""

import json
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

try:
    from wechatpayv3 import WeChatPay, WeChatPayType
    from wechatpayv3.utils import build_authorization, rsa_sign, load_private_key
except ImportError:
    print("the Python module wechatpayv3 is missing: pip install wechatpayv3", file=sys.stderr)
    sys.exit(3)


def fail(msg):
    print("MISMATCH: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


CALLBACKS = queue.Queue()


class Notify(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        CALLBACKS.put((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def next_callback(what):
    try:
        return CALLBACKS.get(timeout=15)
    except queue.Empty:
        fail("no %s callback within 15 s" % what)


def main():
    cfg = json.load(open(sys.argv[1], encoding="utf-8"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Notify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    notify_url = "http://127.0.0.1:%d/notify" % server.server_address[1]

    wxpay = WeChatPay(
        wechatpay_type=WeChatPayType.JSAPI,
        mchid=cfg["mchid"],
        private_key=cfg["private_key_pem"],
        cert_serial_no=cfg["serial_no"],
        appid=cfg["appid"],
        apiv3_key=cfg["apiv3_key"],
        notify_url=notify_url,
        public_key=cfg["public_key_pem"],
        public_key_id=cfg["public_key_id"],
    )
    # wechatpayv3 2.0.x has no constructor parameter for the gateway: it is the Core's
    # `_gate_way` attribute ('https://api.mch.weixin.qq.com'), and request paths are
    # appended to it while the signature covers only the path. Pointing it at the
    # simulator's prefix is exactly what a merchant behind a forward proxy does.
    check(hasattr(wxpay._core, "_gate_way"), "SDK has no _gate_way attribute any more")
    wxpay._core._gate_way = cfg["base_url"]

    # --- known answers: the same key and message sign to the same bytes.
    ka = cfg["known_answers"]
    sdk_pay_sign = wxpay.sign([ka["appid"], ka["timestamp"], ka["nonce"], "prepay_id=" + ka["prepay_id"]])
    check(sdk_pay_sign == ka["pay_sign"], "paySign differs: sdk %s rust %s" % (sdk_pay_sign, ka["pay_sign"]))
    key = load_private_key(cfg["private_key_pem"])
    sdk_sig = rsa_sign(key, ka["request_message"])
    check(sdk_sig == ka["request_signature"], "request signature differs")

    stamp = str(int(time.time()))
    no_jsapi = "SDK" + stamp + "J"
    no_h5 = "SDK" + stamp + "H"

    # --- JSAPI order; the same parameters again give the same prepay_id.
    code, msg = wxpay.pay(description="课后服务费（托管）", out_trade_no=no_jsapi,
                          amount={"total": 12000, "currency": "CNY"},
                          payer={"openid": "oSDKinterop0000000000000001"})
    check(code == 200, "jsapi: %s %s" % (code, msg))
    prepay_id = json.loads(msg)["prepay_id"]
    code, msg = wxpay.pay(description="课后服务费（托管）", out_trade_no=no_jsapi,
                          amount={"total": 12000, "currency": "CNY"},
                          payer={"openid": "oSDKinterop0000000000000001"})
    check(code == 200 and json.loads(msg)["prepay_id"] == prepay_id, "jsapi repeat: %s %s" % (code, msg))
    code, msg = wxpay.pay(description="课后服务费（托管）", out_trade_no=no_jsapi,
                          amount={"total": 1, "currency": "CNY"},
                          payer={"openid": "oSDKinterop0000000000000001"})
    check(code == 400 and json.loads(msg)["code"] == "INVALID_REQUEST", "jsapi conflicting repeat: %s %s" % (code, msg))

    # --- H5 order.
    code, msg = wxpay.pay(description="课后服务费", out_trade_no=no_h5, amount={"total": 300},
                          scene_info={"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}},
                          pay_type=WeChatPayType.H5)
    check(code == 200 and "/sim/wxpay/cashier?prepay_id=" in json.loads(msg)["h5_url"], "h5: %s %s" % (code, msg))

    # --- query, close (204), query again.
    code, msg = wxpay.query(out_trade_no=no_h5)
    check(code == 200 and json.loads(msg)["trade_state"] == "NOTPAY", "query h5: %s %s" % (code, msg))
    code, msg = wxpay.close(out_trade_no=no_h5)
    check(code == 204, "close: %s %s" % (code, msg))
    code, msg = wxpay.query(out_trade_no=no_h5)
    check(code == 200 and json.loads(msg)["trade_state"] == "CLOSED", "query closed: %s %s" % (code, msg))
    code, msg = wxpay.query(out_trade_no="SDKNOSUCHORDER")
    check(code == 404 and json.loads(msg)["code"] == "ORDER_NOT_EXIST", "query unknown: %s %s" % (code, msg))

    # --- pay at the cashier; the callback verifies and decrypts with the SDK.
    r = requests.post(cfg["base_url"] + "/cashier", data={"prepay_id": prepay_id, "action": "pay"}, timeout=10)
    check(r.status_code == 200 and "支付成功" in r.text, "cashier: %s" % r.status_code)
    headers, body = next_callback("TRANSACTION.SUCCESS")
    result = wxpay.callback(headers, body)
    check(result is not None, "SDK could not verify/decrypt the payment callback")
    check(result["event_type"] == "TRANSACTION.SUCCESS", "event_type %s" % result["event_type"])
    res = result["resource"]
    check(res["out_trade_no"] == no_jsapi and res["trade_state"] == "SUCCESS", "resource %s" % res)
    check(res["amount"]["total"] == 12000 and res["mchid"] == cfg["mchid"], "resource amount %s" % res)
    tampered = body.replace(b'"summary":"', b'"summary":"x')
    check(wxpay.callback(headers, tampered) is None, "SDK accepted a tampered callback")

    code, msg = wxpay.query(out_trade_no=no_jsapi)
    txn = json.loads(msg)
    check(code == 200 and txn["trade_state"] == "SUCCESS" and txn["transaction_id"] == res["transaction_id"],
          "query paid: %s %s" % (code, msg))
    code, msg = wxpay.close(out_trade_no=no_jsapi)
    check(code == 400 and json.loads(msg)["code"] == "ORDERPAID", "close paid: %s %s" % (code, msg))

    # --- refund, refund query, too much, and the refund callback.
    out_refund_no = "R" + no_jsapi
    code, msg = wxpay.refund(out_refund_no=out_refund_no, out_trade_no=no_jsapi, reason="停课退费",
                             amount={"refund": 5000, "total": 12000, "currency": "CNY"})
    check(code == 200, "refund: %s %s" % (code, msg))
    refund = json.loads(msg)
    check(refund["status"] == "PROCESSING" and refund["amount"]["refund"] == 5000, "refund %s" % refund)
    code, msg = wxpay.query_refund(out_refund_no=out_refund_no)
    check(code == 200 and json.loads(msg)["refund_id"] == refund["refund_id"], "query refund: %s %s" % (code, msg))
    code, msg = wxpay.refund(out_refund_no=out_refund_no + "X", out_trade_no=no_jsapi,
                             amount={"refund": 7001, "total": 12000, "currency": "CNY"})
    check(code == 400 and json.loads(msg)["code"] == "NOT_ENOUGH", "refund too much: %s %s" % (code, msg))

    # The Rust test set the simulator's refund delay to 0; run its delivery now instead of
    # waiting for a background tick (tests serve no background task).
    # The simulator's fault control is the system administrator's (issue 13.15).
    r = requests.post(
        cfg["base_url"] + "/control",
        json={"deliver_due": True},
        headers={"Authorization": "Bearer " + cfg["operator_token"]},
        timeout=10,
    )
    check(r.status_code == 200 and r.json()["delivery"]["refunds_completed"] == 1, "deliver: %s" % r.text)
    headers, body = next_callback("REFUND.SUCCESS")
    result = wxpay.callback(headers, body)
    check(result is not None, "SDK could not verify/decrypt the refund callback")
    check(result["event_type"] == "REFUND.SUCCESS", "event_type %s" % result["event_type"])
    check(result["resource"]["refund_status"] == "SUCCESS" and result["resource"]["out_refund_no"] == out_refund_no,
          "refund resource %s" % result["resource"])
    code, msg = wxpay.query_refund(out_refund_no=out_refund_no)
    check(code == 200 and json.loads(msg)["status"] == "SUCCESS", "query refund done: %s %s" % (code, msg))

    # --- a request signed with a key the simulator does not know is refused.
    auth = build_authorization("/v3/certificates", "GET", cfg["mchid"], cfg["serial_no"],
                               load_private_key(cfg["foreign_private_key_pem"]))
    r = requests.get(cfg["base_url"] + "/v3/certificates", headers={"Authorization": auth}, timeout=10)
    check(r.status_code == 401 and r.json()["code"] == "SIGN_ERROR", "foreign key: %s %s" % (r.status_code, r.text))

    print("OK")


if __name__ == "__main__":
    main()
