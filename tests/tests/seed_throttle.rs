//! The seed's `mbps` held when `throttle` is true, in a test binary of its own: tests of one
//! binary run at once. The limit is asserted tightly (never more than 5 % over it) and the
//! floor loosely: a busy machine may be slower than the limit (283,747 B/s against 1 MiB/s
//! once, while other builds ran), but never faster.

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
        rate <= limit * 1.05,
        "{rate:.0} B/s is over mbps 1 = {limit} B/s"
    );
    assert!(
        rate >= limit * 0.1,
        "{rate:.0} B/s is a tenth of mbps 1 = {limit} B/s: is the throttle waiting too long?"
    );
    assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
}
