//! DRAM standards: timing parameters and organisation of one channel.
//!
//! Timing parameters are in command-clock cycles (tCK), as data sheets and the
//! reference simulators give them. Each preset names its source.

/// Timing parameters of a DRAM device [tCK cycles, except `tck_ps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Command clock period [ps].
    pub tck_ps: u64,
    /// Read latency (CAS latency).
    pub cl: u64,
    /// Write latency (CAS write latency).
    pub cwl: u64,
    /// ACT to column command.
    pub rcd: u64,
    /// PRE to ACT.
    pub rp: u64,
    /// ACT to PRE.
    pub ras: u64,
    /// ACT to ACT, same bank.
    pub rc: u64,
    /// Column to column, different bank group.
    pub ccd_s: u64,
    /// Column to column, same bank group.
    pub ccd_l: u64,
    /// ACT to ACT, different bank group.
    pub rrd_s: u64,
    /// ACT to ACT, same bank group.
    pub rrd_l: u64,
    /// Window in which at most four ACTs may issue (per rank).
    pub faw: u64,
    /// End of write data to READ, different bank group.
    pub wtr_s: u64,
    /// End of write data to READ, same bank group.
    pub wtr_l: u64,
    /// READ to PRE.
    pub rtp: u64,
    /// End of write data to PRE (write recovery).
    pub wr: u64,
    /// All-bank refresh duration.
    pub rfc: u64,
    /// Average refresh interval (all-bank).
    pub refi: u64,
    /// Per-bank refresh duration (LPDDR4 tRFCpb), `None` where the standard has no
    /// per-bank refresh (DDR4) or no sourced value is held (HBM2's single-bank
    /// refresh). Per-bank refreshes come every `refi / banks_per_rank`.
    pub rfc_pb: Option<u64>,
    /// Data-bus cycles of one burst (BL / 2).
    pub burst: u64,
    /// Idle data-bus cycles between a read burst and a write burst (bus turnaround).
    pub rtw_gap: u64,
}

/// Organisation of one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Org {
    /// Ranks.
    pub ranks: u32,
    /// Bank groups per rank (1 when the standard has none).
    pub bank_groups: u32,
    /// Banks per bank group.
    pub banks_per_group: u32,
    /// Rows per bank.
    pub rows: u32,
    /// Bytes per row.
    pub row_bytes: u32,
    /// Bytes per burst (bus width × burst length).
    pub burst_bytes: u32,
}

/// A DRAM standard: one channel's timing and organisation, and how many channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DramSpec {
    /// Name.
    pub name: &'static str,
    /// Timing.
    pub timing: Timing,
    /// Organisation of a channel.
    pub org: Org,
    /// Channels.
    pub channels: u32,
    /// Where the values come from.
    pub source: &'static str,
    /// How the controller refreshes.
    pub refresh: RefreshMode,
}

/// How the controller refreshes a rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RefreshMode {
    /// REFab every tREFI: the whole rank closes and blocks for tRFC.
    #[default]
    AllBank,
    /// REFpb every tREFI / banks, round robin over the banks: one bank closes and
    /// blocks for tRFCpb while the others keep serving (LPDDR4).
    PerBank,
}

impl DramSpec {
    /// Peak data bandwidth of all channels [bytes/s]: a burst every `burst` cycles.
    pub fn peak_bytes_per_s(&self) -> f64 {
        let per_cycle = f64::from(self.org.burst_bytes) / self.timing.burst as f64;
        per_cycle / (self.timing.tck_ps as f64 * 1e-12) * f64::from(self.channels)
    }

    /// This spec refreshing per bank, or why it cannot.
    pub fn with_per_bank_refresh(mut self) -> Result<DramSpec, String> {
        if self.timing.rfc_pb.is_none() {
            return Err(format!(
                "{} has no per-bank refresh timing (tRFCpb) in this model; use all_bank",
                self.name
            ));
        }
        self.refresh = RefreshMode::PerBank;
        Ok(self)
    }

    /// Banks per rank.
    pub fn banks_per_rank(&self) -> u32 {
        self.org.bank_groups * self.org.banks_per_group
    }

    /// DDR4-3200 x8, 8 Gb devices, 2 ranks, one 64-bit channel: the Ramulator 2 row
    /// of `../shared/reference/dram/dram_timing_params.csv` (JEDEC DDR4-3200AA).
    pub fn ddr4_3200() -> DramSpec {
        DramSpec {
            name: "ddr4_3200",
            timing: Timing {
                tck_ps: 625,
                cl: 22,
                cwl: 16,
                rcd: 22,
                rp: 22,
                ras: 52,
                rc: 74,
                ccd_s: 4,
                ccd_l: 8,
                rrd_s: 4,
                rrd_l: 8,
                faw: 34,
                wtr_s: 4,
                wtr_l: 12,
                rtp: 12,
                wr: 24,
                rfc: 576,
                refi: 12480,
                rfc_pb: None,
                burst: 4,
                rtw_gap: 2,
            },
            org: Org {
                ranks: 2,
                bank_groups: 4,
                banks_per_group: 4,
                rows: 65536,
                row_bytes: 8192,
                burst_bytes: 64,
            },
            channels: 1,
            refresh: RefreshMode::AllBank,
            source: "Ramulator 2 DDR4_8Gb_x8 + DDR4_3200AA (reference/dram/dram_timing_params.csv)",
        }
    }

    /// HBM2 at 2 Gb/s/pin, 8 legacy 128-bit channels, 64-byte bursts: the DRAMsim3
    /// row of `../shared/reference/dram/dram_timing_params.csv`.
    pub fn hbm2() -> DramSpec {
        DramSpec {
            name: "hbm2",
            timing: Timing {
                tck_ps: 1000,
                cl: 14,
                cwl: 4,
                rcd: 14,
                rp: 14,
                ras: 34,
                rc: 48,
                ccd_s: 1,
                ccd_l: 2,
                rrd_s: 4,
                rrd_l: 6,
                faw: 30,
                wtr_s: 6,
                wtr_l: 8,
                rtp: 5,
                wr: 16,
                rfc: 260,
                refi: 3900,
                rfc_pb: None,
                burst: 2,
                rtw_gap: 2,
            },
            org: Org {
                ranks: 1,
                bank_groups: 4,
                banks_per_group: 4,
                rows: 32768,
                row_bytes: 2048,
                burst_bytes: 64,
            },
            channels: 8,
            refresh: RefreshMode::AllBank,
            source: "DRAMsim3 HBM2_8Gb_x128.ini as parsed (reference/dram/dram_timing_params.csv)",
        }
    }

    /// LPDDR4-4266, x16 channels, 8 banks, BL16 (32-byte bursts), 4 channels of a
    /// 64-bit interface.
    pub fn lpddr4_4266() -> DramSpec {
        DramSpec {
            name: "lpddr4_4266",
            timing: Timing {
                // 2133 MHz command clock; nanosecond parameters of JESD209-4 (tRCD 18,
                // tRPpb 18, tRAS 42, tRRD 7.5, tFAW 30, tWTR 10, tRTP 7.5, tWR 18,
                // tRFCab 280 and tRFCpb 140 for 8 Gb, tREFI 3.904 us) rounded up to
                // cycles.
                tck_ps: 469,
                cl: 36,
                cwl: 18,
                rcd: 39,
                rp: 39,
                ras: 90,
                rc: 129,
                ccd_s: 8,
                ccd_l: 8,
                rrd_s: 16,
                rrd_l: 16,
                faw: 64,
                wtr_s: 22,
                wtr_l: 22,
                rtp: 16,
                wr: 39,
                rfc: 597,
                refi: 8324,
                rfc_pb: Some(299),
                burst: 8,
                rtw_gap: 2,
            },
            org: Org {
                ranks: 1,
                bank_groups: 1,
                banks_per_group: 8,
                rows: 65536,
                row_bytes: 2048,
                burst_bytes: 32,
            },
            channels: 4,
            refresh: RefreshMode::AllBank,
            source: "JESD209-4 LPDDR4-4266 timings in ns, converted at tCK = 0.469 ns (no reference simulator run; the held-out set has one)",
        }
    }
}
