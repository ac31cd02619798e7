//! keepalived.conf text for the parity scenarios: a `vrrp_instance` block with the defaults those
//! scenarios share (VRRPv3, a short `advert_int`, interface eth0), and room for any other line.
//! The text is what a user would write; both implementations read it unchanged.

use std::fmt;

/// One `vrrp_instance` block.
#[derive(Debug, Clone)]
pub struct Instance {
    name: String,
    state: &'static str,
    vrid: u8,
    priority: u8,
    version: u8,
    advert_int: String,
    vips: Vec<String>,
    lines: Vec<String>,
}

impl Instance {
    /// `state BACKUP`, priority 100, version 3, advert_int 0.1, interface eth0, no VIP yet.
    pub fn new(name: &str, vrid: u8) -> Instance {
        Instance {
            name: name.to_string(),
            state: "BACKUP",
            vrid,
            priority: 100,
            version: 3,
            advert_int: "0.1".to_string(),
            vips: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// `state MASTER`.
    pub fn master(mut self) -> Instance {
        self.state = "MASTER";
        self
    }

    pub fn priority(mut self, priority: u8) -> Instance {
        self.priority = priority;
        self
    }

    pub fn version(mut self, version: u8) -> Instance {
        self.version = version;
        self
    }

    pub fn advert_int(mut self, advert_int: &str) -> Instance {
        self.advert_int = advert_int.to_string();
        self
    }

    /// A `virtual_ipaddress` line.
    pub fn vip(mut self, line: impl fmt::Display) -> Instance {
        self.vips.push(line.to_string());
        self
    }

    /// Any other line (or block) inside the instance, written as given.
    pub fn line(mut self, line: impl fmt::Display) -> Instance {
        self.lines.push(line.to_string());
        self
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "vrrp_instance {} {{", self.name)?;
        writeln!(f, "    state {}", self.state)?;
        writeln!(f, "    interface eth0")?;
        writeln!(f, "    virtual_router_id {}", self.vrid)?;
        writeln!(f, "    version {}", self.version)?;
        writeln!(f, "    priority {}", self.priority)?;
        writeln!(f, "    advert_int {}", self.advert_int)?;
        for line in &self.lines {
            writeln!(f, "    {line}")?;
        }
        if !self.vips.is_empty() {
            writeln!(f, "    virtual_ipaddress {{")?;
            for vip in &self.vips {
                writeln!(f, "        {vip}")?;
            }
            writeln!(f, "    }}")?;
        }
        writeln!(f, "}}")
    }
}

/// A `global_defs` block with these lines.
pub fn global_defs(lines: &[&str]) -> String {
    let mut text = String::from("global_defs {\n");
    for line in lines {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("}\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_block_keepalived_reads() {
        let text = Instance::new("VI_1", 7)
            .master()
            .priority(150)
            .vip("10.1.0.200/24")
            .line("nopreempt")
            .to_string();
        assert_eq!(
            text,
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 7\n    \
             version 3\n    priority 150\n    advert_int 0.1\n    nopreempt\n    \
             virtual_ipaddress {\n        10.1.0.200/24\n    }\n}\n"
        );
        assert_eq!(
            global_defs(&["vrrp_garp_master_repeat 2"]),
            "global_defs {\n    vrrp_garp_master_repeat 2\n}\n"
        );
    }
}
