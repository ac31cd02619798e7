//! A weight-0 `track_script` decides before anything else (keepalived-behaviour.md §2.1, keepalived
//! vrrp_scheduler.c `vrrp_init_state` and `num_script_init`): until its first result the instance
//! waits in FAULT (init), so a slow health check can never make a node master before it is known
//! to be healthy. Here the first result comes 3 s after start, long after Master_Down_Interval
//! (0.72 s). Run with vrrpd and with keepalived 2.2.7.

use std::time::{Duration, Instant};

use vrrpd_tests::conf::Instance;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const VI: &str = "VI_1";
/// Before the script's first result (it takes 3 s).
const BEFORE_RESULT: Duration = Duration::from_millis(2500);

fn waits_for_the_first_result(which: Impl, subnet: u8) {
    let config = |_: usize, s: u8, _: &std::path::Path| {
        format!(
            "vrrp_script slow {{\n    script \"/bin/sleep 3\"\n    interval 30\n    \
             timeout 10\n}}\n{}",
            Instance::new(VI, 72)
                .priority(100)
                .advert_int("0.2")
                .vip(format!("10.{s}.0.200"))
                .line("track_script {\n        slow weight 0\n    }")
        )
    };
    let mut tb = Testbed::new("scrinit", subnet, &[which], config);
    let t0 = Instant::now();
    tb.start(0);
    std::thread::sleep(BEFORE_RESULT);
    assert!(
        !tb.router(0).entered_since(VI, State::Master, t0)
            && !tb.router(0).entered_since(VI, State::Backup, t0),
        "left FAULT (init) before the script's first result\n{}",
        tb.transcripts()
    );
    // The first result is good: BACKUP, then MASTER after Master_Down_Interval.
    tb.router(0).wait_state(VI, State::Backup, t0);
    tb.router(0).wait_state(VI, State::Master, t0);
}

#[test]
fn a_weight_zero_script_holds_the_instance_until_its_first_result_vrrpd() {
    waits_for_the_first_result(Impl::Vrrpd, 152);
}

#[test]
fn a_weight_zero_script_holds_the_instance_until_its_first_result_keepalived() {
    waits_for_the_first_result(Impl::Keepalived, 153);
}
