//! The HMAC building blocks both services' signatures are made of.

use base64::Engine;
use hmac::{Hmac, Mac};

/// `base64(HMAC-SHA1(key, text))`, the final step of MaxCompute's signatures and of SLS v1.
pub(crate) fn hmac_sha1_base64(key: &[u8], text: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn hmac_sha256(key: &[u8], text: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(text);
    mac.finalize().into_bytes().to_vec()
}

/// The v4 signing key: HMAC-SHA256 chained from `aliyun_v4{secret}` over the date, region,
/// `product` and `aliyun_v4_request`.
pub(crate) fn v4_signing_key(secret: &str, date: &str, region: &str, product: &str) -> Vec<u8> {
    let mut key = format!("aliyun_v4{secret}").into_bytes();
    for part in [date, region, product, "aliyun_v4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    key
}
