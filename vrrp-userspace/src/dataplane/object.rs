//! One loaded copy of the XDP object: both programs loaded (attached nowhere) and typed access to
//! its maps. Each interface gets its own copy, so maps, counters and ring buffer are per interface.
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use aya::{
    Ebpf, EbpfLoader,
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{TestRun, TestRunOptions, Xdp},
};
use vrrp_common::{
    AF_INET, AF_INET6, COUNTER_SLOTS, Counter, GATE_CLOSED, GATE_OPEN, MAP_CONFIG, MAP_COUNTERS,
    MAP_EVENTS, MAP_NO_ACCEPT, MAP_NO_ACCEPT_FILTER, MAP_RX_LAST, MAP_VIP_FILTER, MAP_VIP_GATE,
    MAP_VRIDS, NoAcceptFilter, PROGRAM_NAME, RX_EAGER, RxLast, VRID_UNICAST_V4, VRID_UNICAST_V6,
    VRID_WANT_V4, VRID_WANT_V6, VipFilter, VipKey, XdpConfig, rx_last_index,
};

use super::{
    Counters, DataplaneError, EBPF_OBJECT, EventRing, KTIME_PROGRAM_NAME, PASS_PROGRAM_NAME,
    Receiver, RxLastView,
};

/// Room `test_run` leaves for a frame the program grows (an NA answering a short NS).
const TEST_RUN_GROWTH: usize = 256;

/// One `BPF_PROG_TEST_RUN` result.
#[derive(Debug, Clone)]
pub struct TestRunOutcome {
    /// The XDP action (`XDP_PASS` = 2, `XDP_DROP` = 1, `XDP_TX` = 3).
    pub action: u32,
    /// The frame as the program left it.
    pub data: Vec<u8>,
    /// Kernel-measured time per repetition.
    pub duration: Duration,
}

/// Which adverts of one VRID the program reports (all false: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VridWant {
    pub v4: bool,
    pub v6: bool,
    /// That family's instance is in unicast mode: its adverts are reported whatever their TTL.
    pub unicast_v4: bool,
    pub unicast_v6: bool,
}

pub struct XdpObject {
    ebpf: Ebpf,
    /// VIPs whose traffic is dropped while their gate is open (no_accept); see
    /// [`XdpObject::set_no_accept_vips`].
    no_accept: HashSet<IpAddr>,
}

impl XdpObject {
    /// Loads the embedded object, loads both programs into the kernel and writes `CONFIG`.
    pub fn load(config: XdpConfig) -> Result<XdpObject, DataplaneError> {
        raise_memlock();
        let ebpf = EbpfLoader::new().load(EBPF_OBJECT)?;
        let mut object = XdpObject {
            ebpf,
            no_accept: HashSet::new(),
        };
        for program in [XdpProgram::Vrrp, XdpProgram::Pass, XdpProgram::Ktime] {
            object
                .program_mut(program)?
                .load()
                .map_err(|source| DataplaneError::Program {
                    name: program.name(),
                    source,
                })?;
        }
        object.set_config(config)?;
        Ok(object)
    }

    pub fn program_mut(&mut self, program: XdpProgram) -> Result<&mut Xdp, DataplaneError> {
        let name = program.name();
        let program = self
            .ebpf
            .program_mut(name)
            .ok_or(DataplaneError::MissingProgram(name))?;
        program
            .try_into()
            .map_err(|source| DataplaneError::Program { name, source })
    }

    pub fn program(&self, program: XdpProgram) -> Result<&Xdp, DataplaneError> {
        let name = program.name();
        let program = self
            .ebpf
            .program(name)
            .ok_or(DataplaneError::MissingProgram(name))?;
        program
            .try_into()
            .map_err(|source| DataplaneError::Program { name, source })
    }

    pub fn set_config(&mut self, config: XdpConfig) -> Result<(), DataplaneError> {
        let mut map: Array<&mut MapData, XdpConfig> = self.map_mut(MAP_CONFIG)?;
        map.set(0, config, 0).map_err(map_err(MAP_CONFIG))
    }

    /// Which families' multicast adverts of `vrid` reach the ring buffer (both false: none).
    pub fn set_vrid(
        &mut self,
        vrid: u8,
        want_v4: bool,
        want_v6: bool,
    ) -> Result<(), DataplaneError> {
        self.set_vrid_want(
            vrid,
            VridWant {
                v4: want_v4,
                v6: want_v6,
                ..VridWant::default()
            },
        )
    }

    /// Which adverts of `vrid` reach the ring buffer, unicast mode included.
    pub fn set_vrid_want(&mut self, vrid: u8, want: VridWant) -> Result<(), DataplaneError> {
        let flag = |on: bool, bit: u32| if on { bit } else { 0 };
        let flags = flag(want.v4, VRID_WANT_V4)
            | flag(want.v6, VRID_WANT_V6)
            | flag(want.unicast_v4, VRID_UNICAST_V4)
            | flag(want.unicast_v6, VRID_UNICAST_V6);
        let mut map: Array<&mut MapData, u32> = self.map_mut(MAP_VRIDS)?;
        map.set(u32::from(vrid), flags, 0)
            .map_err(map_err(MAP_VRIDS))
    }

    /// Whether every advert of (`family`, `vrid`) is queued and wakes the daemon (`eager`), or
    /// only one that differs from the last queued one, repeats being counted (see
    /// [`vrrp_common::RxLast`]). Also forgets the last advert, so the next one is queued.
    pub fn set_rx_eager(
        &mut self,
        family: u8,
        vrid: u8,
        eager: bool,
    ) -> Result<(), DataplaneError> {
        let value = RxLast {
            flags: if eager { RX_EAGER } else { 0 },
            ..RxLast::default()
        };
        let mut map: Array<&mut MapData, RxLast> = self.map_mut(MAP_RX_LAST)?;
        map.set(rx_last_index(family, vrid), value, 0)
            .map_err(map_err(MAP_RX_LAST))
    }

    /// Opens (answer ARP/NS for `vip`) or closes (drop them) the gate for one VIP. A no_accept
    /// VIP's traffic is dropped exactly while its gate is open (keepalived adds its firewall
    /// rules with the VIPs on MASTER and removes them with the VIPs).
    pub fn set_gate(&mut self, vip: IpAddr, open: bool) -> Result<(), DataplaneError> {
        let value = if open { GATE_OPEN } else { GATE_CLOSED };
        let key = vip_key(vip);
        let mut map: HashMap<&mut MapData, VipKey, u32> = self.map_mut(MAP_VIP_GATE)?;
        map.insert(key, value, 0).map_err(map_err(MAP_VIP_GATE))?;
        // The gate entry exists before the filter lets lookups reach it.
        let mut filter = self.vip_filter()?;
        if !filter.may_contain(key.last_byte()) {
            filter.insert(key.last_byte());
            self.set_vip_filter(filter)?;
        }
        self.set_dropping(vip, open && self.no_accept.contains(&vip))
    }

    /// Forgets `vip`: its ARP/NS go to the kernel again. Removing an absent VIP is not an error.
    pub fn remove_gate(&mut self, vip: IpAddr) -> Result<(), DataplaneError> {
        let mut map: HashMap<&mut MapData, VipKey, u32> = self.map_mut(MAP_VIP_GATE)?;
        remove_key(&mut map, &vip_key(vip), MAP_VIP_GATE)?;
        // Rebuilt from what remains: another VIP may share the removed one's last byte.
        let mut filter = VipFilter::default();
        for key in map.keys() {
            filter.insert(key.map_err(map_err(MAP_VIP_GATE))?.last_byte());
        }
        self.set_vip_filter(filter)?;
        self.set_dropping(vip, false)
    }

    /// The VIPs in no_accept mode (Accept_Mode off, not the address owner). Those whose gate is
    /// open (master) start dropping at once, VIPs no longer listed stop: a reload that changes
    /// `accept` takes effect without a transition.
    pub fn set_no_accept_vips(&mut self, vips: HashSet<IpAddr>) -> Result<(), DataplaneError> {
        let changed: Vec<IpAddr> = self
            .no_accept
            .symmetric_difference(&vips)
            .copied()
            .collect();
        self.no_accept = vips;
        for vip in changed {
            let open = self.gate(vip)? == Some(GATE_OPEN);
            self.set_dropping(vip, open && self.no_accept.contains(&vip))?;
        }
        Ok(())
    }

    fn gate(&mut self, vip: IpAddr) -> Result<Option<u32>, DataplaneError> {
        let map: HashMap<&mut MapData, VipKey, u32> = self.map_mut(MAP_VIP_GATE)?;
        match map.get(&vip_key(vip), 0) {
            Ok(value) => Ok(Some(value)),
            Err(aya::maps::MapError::KeyNotFound) => Ok(None),
            Err(source) => Err(DataplaneError::Map {
                map: MAP_VIP_GATE,
                source,
            }),
        }
    }

    /// Starts or stops dropping traffic addressed to `vip` (the `NO_ACCEPT` map and its filter).
    fn set_dropping(&mut self, vip: IpAddr, drop: bool) -> Result<(), DataplaneError> {
        let key = vip_key(vip);
        let mut map: HashMap<&mut MapData, VipKey, u32> = self.map_mut(MAP_NO_ACCEPT)?;
        let present = map.get(&key, 0).is_ok();
        if drop == present {
            return Ok(());
        }
        if drop {
            map.insert(key, 1, 0).map_err(map_err(MAP_NO_ACCEPT))?;
        } else {
            remove_key(&mut map, &key, MAP_NO_ACCEPT)?;
        }
        // Rebuilt from the map: an entry exists before the filter lets lookups reach it, and
        // an empty map turns the check off for every frame.
        let mut filter = NoAcceptFilter::default();
        for key in map.keys() {
            filter
                .last_byte
                .insert(key.map_err(map_err(MAP_NO_ACCEPT))?.last_byte());
            filter.active = 1;
        }
        let mut array: Array<&mut MapData, NoAcceptFilter> = self.map_mut(MAP_NO_ACCEPT_FILTER)?;
        array
            .set(0, filter, 0)
            .map_err(map_err(MAP_NO_ACCEPT_FILTER))
    }

    fn vip_filter(&mut self) -> Result<VipFilter, DataplaneError> {
        let map: Array<&mut MapData, VipFilter> = self.map_mut(MAP_VIP_FILTER)?;
        map.get(&0, 0).map_err(map_err(MAP_VIP_FILTER))
    }

    fn set_vip_filter(&mut self, filter: VipFilter) -> Result<(), DataplaneError> {
        let mut map: Array<&mut MapData, VipFilter> = self.map_mut(MAP_VIP_FILTER)?;
        map.set(0, filter, 0).map_err(map_err(MAP_VIP_FILTER))
    }

    pub fn counters(&self) -> Result<Counters, DataplaneError> {
        let map = self
            .ebpf
            .map(MAP_COUNTERS)
            .ok_or(DataplaneError::MissingMap(MAP_COUNTERS))?;
        let map: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(map).map_err(map_err(MAP_COUNTERS))?;
        let mut values = [0u64; COUNTER_SLOTS as usize];
        for counter in Counter::ALL {
            let per_cpu = map
                .get(&(counter as u32), 0)
                .map_err(map_err(MAP_COUNTERS))?;
            values[counter as usize] = per_cpu.iter().sum();
        }
        Ok(Counters::from_values(values))
    }

    /// Takes the ring buffer out of the object (once; later calls fail with `MissingMap`).
    pub fn take_events(&mut self) -> Result<EventRing, DataplaneError> {
        let map = self
            .ebpf
            .take_map(MAP_EVENTS)
            .ok_or(DataplaneError::MissingMap(MAP_EVENTS))?;
        let ring = RingBuf::try_from(map).map_err(map_err(MAP_EVENTS))?;
        Ok(EventRing::new(ring))
    }

    /// Takes the ring buffer out of the object together with a view of `RX_LAST`: what drains
    /// both queued adverts and counted repeats (once; later calls fail with `MissingMap`).
    pub fn take_receiver(&mut self) -> Result<Receiver, DataplaneError> {
        let view = self.rx_last_view()?;
        Ok(Receiver::new(self.take_events()?, view))
    }

    /// A shared read-only mapping of `RX_LAST`.
    pub fn rx_last_view(&self) -> Result<RxLastView, DataplaneError> {
        match self.ebpf.map(MAP_RX_LAST) {
            Some(aya::maps::Map::Array(data)) => RxLastView::map(data.fd()),
            _ => Err(DataplaneError::MissingMap(MAP_RX_LAST)),
        }
    }

    /// Runs `program` on `frame` `repeat` times through `BPF_PROG_TEST_RUN`.
    pub fn test_run(
        &self,
        program: XdpProgram,
        frame: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DataplaneError> {
        let name = program.name();
        let program = self.program(program)?;
        let mut out = vec![0u8; frame.len() + TEST_RUN_GROWTH];
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                repeat,
                ..TestRunOptions::default()
            })
            .map_err(|source| DataplaneError::Program { name, source })?;
        out.truncate(result.data_size_out as usize);
        Ok(TestRunOutcome {
            action: result.return_value,
            data: out,
            duration: result.duration,
        })
    }

    fn map_mut<'a, T>(&'a mut self, name: &'static str) -> Result<T, DataplaneError>
    where
        T: TryFrom<&'a mut aya::maps::Map, Error = aya::maps::MapError>,
    {
        let map = self
            .ebpf
            .map_mut(name)
            .ok_or(DataplaneError::MissingMap(name))?;
        T::try_from(map).map_err(map_err(name))
    }
}

fn map_err(map: &'static str) -> impl Fn(aya::maps::MapError) -> DataplaneError {
    move |source| DataplaneError::Map { map, source }
}

/// Removes `key`; an absent key is not an error.
fn remove_key(
    map: &mut HashMap<&mut MapData, VipKey, u32>,
    key: &VipKey,
    name: &'static str,
) -> Result<(), DataplaneError> {
    match map.remove(key) {
        Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
        Err(aya::maps::MapError::SyscallError(e))
            if e.io_error.raw_os_error() == Some(libc::ENOENT) =>
        {
            Ok(())
        }
        Err(source) => Err(DataplaneError::Map { map: name, source }),
    }
}

/// The two programs in the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpProgram {
    /// `vrrp_xdp`: the dataplane.
    Vrrp,
    /// `xdp_pass`: returns `XDP_PASS` (benchmark baseline, veth peer for `XDP_TX`).
    Pass,
    /// `xdp_ktime`: one `bpf_ktime_get_ns()`, then `XDP_PASS` (benchmark reference).
    Ktime,
}

impl XdpProgram {
    pub const fn name(self) -> &'static str {
        match self {
            XdpProgram::Vrrp => PROGRAM_NAME,
            XdpProgram::Pass => PASS_PROGRAM_NAME,
            XdpProgram::Ktime => KTIME_PROGRAM_NAME,
        }
    }
}

pub(crate) fn vip_key(vip: IpAddr) -> VipKey {
    let mut key = VipKey::default();
    match vip {
        IpAddr::V4(v4) => {
            key.family = AF_INET;
            key.addr[..4].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            key.family = AF_INET6;
            key.addr = v6.octets();
        }
    }
    key
}

/// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; newer ones ignore it. Failure is
/// not fatal: the load reports the real problem if there is one.
fn raise_memlock() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct we pass.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
    if rc != 0 {
        tracing::debug!(
            "setrlimit(RLIMIT_MEMLOCK): {}",
            std::io::Error::last_os_error()
        );
    }
}
