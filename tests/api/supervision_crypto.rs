//! The national-crypto primitives of the supervision push against an independent
//! implementation, the pure-Python `gmssl` (`tests/supervision_sdk/gm_interop.py`):
//! SM2withSM3 signatures both ways, SM4-CBC ciphertexts both ways, SM3 digests.
//! Needs no database.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use afterschool::supervision::crypto::{canonical_string, sm3_hex, Sm4Key, SmSigner, SmVerifier};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// Messages signed, encrypted and hashed on both sides: empty, ASCII, Chinese, a canonical
/// string as the push signs it, and one longer than an SM3 block.
fn messages() -> Vec<String> {
    let envelope = json!({
        "appId": "ZS-SQ-001",
        "timestamp": "20261012093000",
        "data": {"学校": "石岐中心小学", "人数": 42, "课程": ["书法", "围棋"]},
        "signData": "ignored",
    });
    vec![
        String::new(),
        "abc".into(),
        "学生姓名=张三&学校=石岐中心小学".into(),
        canonical_string(&envelope),
        "课后服务".repeat(40),
    ]
}

/// False (after printing SKIPPED) when python3 is missing; fails when gmssl is.
pub fn gmssl_available() -> bool {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("SKIPPED: python3 is not installed; the gmssl interop check needs it");
        return false;
    }
    let probe = Command::new("python3")
        .args(["-c", "import gmssl"])
        .output()
        .expect("python3 runs");
    // CI installs it (bash .ci/setup): a missing module is a broken set-up, not a skip.
    assert!(
        probe.status.success(),
        "the Python module gmssl is missing: pip install gmssl (bash .ci/setup does)"
    );
    true
}

/// One request to the script, one answer; a non-zero exit fails the test with its output.
pub async fn gm(request: Value) -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/supervision_sdk/gm_interop.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run gm_interop.py");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(&serde_json::to_vec(&request).unwrap())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.expect("gm_interop.py ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gm_interop.py failed ({}) on {request}:\n{stdout}\n{stderr}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn gmssl_verifies(public_hex: &str, msg: &str, sig_b64: &str) -> bool {
    let answer =
        gm(json!({"cmd": "verify", "public_hex": public_hex, "msg": msg, "sig_b64": sig_b64}))
            .await;
    answer["ok"]
        .as_bool()
        .unwrap_or_else(|| panic!("no ok in {answer}"))
}

fn flip_byte(sig_b64: &str, index: usize) -> String {
    let mut bytes = B64.decode(sig_b64).unwrap();
    let at = index % bytes.len();
    bytes[at] ^= 0x80;
    B64.encode(bytes)
}

/// gmssl strips the "04" prefix with `lstrip("04")`, which also eats leading '0' and '4'
/// digits of x; a key whose x starts with one of them proves the script works around it.
fn key_whose_x_starts_with_0_or_4() -> SmSigner {
    loop {
        let signer = SmSigner::generate();
        if matches!(&signer.public_hex()[2..3], "0" | "4") {
            return signer;
        }
    }
}

#[tokio::test]
async fn sm2_signatures_verify_across_rust_and_gmssl_and_tampering_fails_on_both() {
    if !gmssl_available() {
        return;
    }
    for signer in [SmSigner::generate(), key_whose_x_starts_with_0_or_4()] {
        let public = signer.public_hex();
        let verifier = SmVerifier::from_public_hex(&public).unwrap();
        for (i, msg) in messages().iter().enumerate() {
            // Both public key forms the script accepts.
            let public_for_python = if i % 2 == 0 {
                &public[..]
            } else {
                &public[2..]
            };

            // Rust signs, gmssl verifies.
            let ours = signer.sign(msg.as_bytes());
            assert!(
                gmssl_verifies(public_for_python, msg, &ours).await,
                "gmssl rejects our signature of {msg:?} under {public}"
            );

            // gmssl signs, Rust verifies.
            let answer = gm(json!({
                "cmd": "sign",
                "secret_hex": signer.secret_hex(),
                "public_hex": public_for_python,
                "msg": msg,
            }))
            .await;
            let theirs = answer["sig_b64"].as_str().expect("sig_b64").to_string();
            assert_eq!(B64.decode(&theirs).unwrap().len(), 64);
            assert!(
                verifier.verify(msg.as_bytes(), &theirs),
                "we reject gmssl's signature of {msg:?} under {public}"
            );

            // A flipped signature byte or a changed message fails on both sides.
            for sig in [&ours, &theirs] {
                let flipped = flip_byte(sig, 5 + 13 * i);
                assert!(!verifier.verify(msg.as_bytes(), &flipped));
                assert!(!gmssl_verifies(public_for_python, msg, &flipped).await);
                let changed = format!("{msg}.");
                assert!(!verifier.verify(changed.as_bytes(), sig));
                assert!(!gmssl_verifies(public_for_python, &changed, sig).await);
            }
        }
    }
}

#[tokio::test]
async fn gmssl_rejects_a_signature_under_another_key_or_with_trailing_bytes() {
    if !gmssl_available() {
        return;
    }
    let signer = SmSigner::generate();
    let other = SmSigner::generate();
    let sig = signer.sign(b"abc");
    assert!(!gmssl_verifies(&other.public_hex(), "abc", &sig).await);
    // gmssl itself ignores anything after r || s; the script must not.
    let mut long = B64.decode(&sig).unwrap();
    long.push(0);
    let long = B64.encode(long);
    assert!(!gmssl_verifies(&signer.public_hex(), "abc", &long).await);
    assert!(!signer.verifier().verify(b"abc", &long));
}

#[tokio::test]
async fn sm4_cbc_ciphertexts_decrypt_on_the_other_side() {
    if !gmssl_available() {
        return;
    }
    let key = Sm4Key::generate();
    let mut plains = messages();
    plains.push("0123456789abcdef".into()); // exactly one block: a full padding block
    plains.push("440105200801011234".into());
    for plain in &plains {
        // Rust encrypts, gmssl decrypts.
        let ours = key.encrypt(plain);
        let answer = gm(json!({"cmd": "sm4_decrypt", "key_hex": key.to_hex(), "b64": ours})).await;
        assert_eq!(answer["plain"].as_str(), Some(plain.as_str()), "{answer}");

        // gmssl encrypts, Rust decrypts.
        let answer =
            gm(json!({"cmd": "sm4_encrypt", "key_hex": key.to_hex(), "plain": plain})).await;
        let theirs = answer["b64"].as_str().expect("b64");
        assert_eq!(
            B64.decode(theirs).unwrap().len(),
            16 + (plain.len() / 16 + 1) * 16,
            "iv || PKCS#7-padded ciphertext"
        );
        assert_eq!(key.decrypt(theirs).unwrap(), *plain);
    }
}

#[tokio::test]
async fn sm3_digests_agree_with_gmssl() {
    if !gmssl_available() {
        return;
    }
    for data in messages() {
        let answer = gm(json!({"cmd": "sm3", "data": data})).await;
        assert_eq!(
            answer["hex"].as_str(),
            Some(sm3_hex(data.as_bytes()).as_str()),
            "{data:?}"
        );
    }
}
