//! Trackers: vrrp_script runner, track_interface, track_file; rise/fall and weight arithmetic.
