//! The seed's `mbps` held when `throttle` is true, in a test binary of its own: tests of one
//! binary run at once, and a rate is only fair to judge on a machine not busy with others.

use datax_e2e::seed::{
    assert_counts, assert_every_row_arrived, run_seed, seed_variant, start_seed_sandbox, SEED_KEYS,
};
use datax_e2e::Workspace;
use serde_json::json;

#[test]
fn throttle_true_holds_the_seeds_mbps_across_two_channels() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let job = seed_variant(&workspace, "throttled.json", |job| {
        let speed = &mut job["configuration"]["setting"]["speed"];
        speed["throttle"] = json!("true");
        speed["concurrent"] = json!("2");
    });
    let (run, report) = run_seed(&workspace, &sandbox, &job);
    assert_counts(&run, &report);
    let limit = 1024.0 * 1024.0;
    let rate = report["bytes_per_second"].as_f64().unwrap();
    assert!(
        (rate - limit).abs() <= limit * 0.05,
        "{rate:.0} B/s against mbps 1 = {limit} B/s"
    );
    assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
}
