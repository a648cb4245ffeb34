//! MaxCompute request signing against the spec's test vectors (odps-tunnel.md §2).

use datax_sandbox::odps::auth::{signature_v2, signature_v4, string_to_sign};

#[test]
fn java_sdk_unit_test_vector() {
    let text = string_to_sign(
        "POST",
        [
            ("Content-MD5", "6c2e10f17bb7385f2ac30811b5e8e46f"),
            ("Content-Type", "application/xml"),
            ("Date", "Tue, 13 May 2014 09:51:17 GMT"),
            ("x-odps-user-agent", "JavaSDK/0.12.0;Linux"),
            ("User-Agent", "not signed"),
        ],
        "/projects/odps_test_tunnel_project/instances",
        "",
    );
    assert_eq!(
        text,
        "POST\n6c2e10f17bb7385f2ac30811b5e8e46f\napplication/xml\nTue, 13 May 2014 09:51:17 GMT\n\
         x-odps-user-agent:JavaSDK/0.12.0;Linux\n/projects/odps_test_tunnel_project/instances"
    );
    assert_eq!(
        signature_v2("oRd30z7sV4hBX9aYtJgii5qnyhg=", &text),
        "+2cFzBzr2v7mAlOVGgulQ+58nuQ="
    );
}

#[test]
fn data_request_vector_with_encoded_unsorted_query() {
    let text = string_to_sign(
        "GET",
        [
            ("x-odps-user-agent", "rust-odps/0.1"),
            ("x-odps-tunnel-version", "6"),
            ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("odps-tunnel-date-transform", "v1"),
            ("Accept-Encoding", "deflate"),
        ],
        "/projects/oracle_proj/tables/simple",
        "data&downloadid=20240101000000abcdef&rowrange=%280%2C100%29&columns=id%2Cname&curr_project=oracle_proj",
    );
    assert_eq!(
        text,
        "GET\n\n\nMon, 01 Jan 2024 00:00:00 GMT\nx-odps-tunnel-version:6\nx-odps-user-agent:rust-odps/0.1\n\
         /projects/oracle_proj/tables/simple?columns=id,name&curr_project=oracle_proj&data&downloadid=20240101000000abcdef&rowrange=(0,100)"
    );
    assert_eq!(
        signature_v2("oracle-sk", &text),
        "v4PfcjSxaxOu4LUOgCNTeny0eB8="
    );
}

#[test]
fn v4_create_session_vector() {
    // pyodps sends `downloads=`, Java a bare `downloads`: both canonicalise to `downloads`.
    for downloads in ["downloads", "downloads="] {
        let text = string_to_sign(
            "POST",
            [
                ("x-odps-tunnel-version", "6"),
                ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ],
            "/projects/oracle_proj/tables/simple",
            &format!("{downloads}&partition=pt%3Da%2Cregion%3Dhz&curr_project=oracle_proj"),
        );
        assert_eq!(
            text,
            "POST\n\n\nMon, 01 Jan 2024 00:00:00 GMT\nx-odps-tunnel-version:6\n\
             /projects/oracle_proj/tables/simple?curr_project=oracle_proj&downloads&partition=pt=a,region=hz"
        );
        assert_eq!(
            signature_v4("oracle-sk", "20240101", "cn-hangzhou", &text),
            "9sutGVSrFihSILYWCaLyE3AA1c4="
        );
    }
}

#[test]
fn x_odps_query_parameters_are_signed_as_headers() {
    let text = string_to_sign(
        "GET",
        [("Date", "Mon, 01 Jan 2024 00:00:00 GMT")],
        "/projects/p",
        "x-odps-extra=1",
    );
    assert_eq!(
        text,
        "GET\n\n\nMon, 01 Jan 2024 00:00:00 GMT\nx-odps-extra:1\n/projects/p?x-odps-extra=1"
    );
}
