"""Tests of the Python client and the generated treta_abi module against a real
`treta-vp serve` (standard library unittest; pytest runs them too).

The server binary is $TRETA_VP, else target/release/treta-vp, else
target/debug/treta-vp of this repository.

    python3 -m unittest discover -s sdk/python/tests -v
"""

import os
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
import treta_abi as abi  # noqa: E402
from treta_remote import Client, RemoteError  # noqa: E402

SCENARIO = os.path.join(ROOT, "scenarios", "remote_gemms.yaml")
EXAMPLE = os.path.join(HERE, "..", "examples", "gemm_ring.py")


def server_binary():
    if os.environ.get("TRETA_VP"):
        return os.environ["TRETA_VP"]
    for build in ("release", "debug"):
        path = os.path.join(ROOT, "target", build, "treta-vp")
        if os.path.exists(path):
            return path
    raise unittest.SkipTest("no treta-vp binary: cargo build --release -p treta-vp")


class Served:
    """`treta-vp serve` on a Unix socket in a temporary directory."""

    def __init__(self, *extra):
        self.dir = tempfile.TemporaryDirectory()
        self.endpoint = "unix:" + os.path.join(self.dir.name, "vp.sock")
        self.report = os.path.join(self.dir.name, "report.json")
        self.trace = os.path.join(self.dir.name, "trace.json")
        self.process = subprocess.Popen(
            [server_binary(), "serve", SCENARIO, "--listen", self.endpoint, "--report",
             self.report, "--trace", self.trace, "-q", *extra],
            stderr=subprocess.PIPE, text=True)

    def exit(self):
        """The server's exit status and standard error, once it has ended."""
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        self.dir.cleanup()


class ServedTest(unittest.TestCase):
    def setUp(self):
        self.served = Served()
        self.addCleanup(self.served.close)
        self.vp = Client.connect(self.served.endpoint)
        self.addCleanup(self.vp.close)


class Registers(ServedTest):
    def test_hello_map_identity_and_version(self):
        m = self.vp.map
        self.assertEqual(m.version, 1)
        self.assertEqual(m.regs_size, abi.BLOCK_BYTES)
        self.assertGreater(m.dram_size, 0)
        self.assertEqual(self.vp.reg_read(abi.ID), abi.ID_VALUE)
        self.assertEqual(self.vp.reg_read(abi.VERSION), abi.VERSION_VALUE)
        self.assertEqual(self.vp.reg_read(abi.ERR_FIELD), abi.ERR_FIELD_NONE)

    def test_register_accesses_cost_bus_time_and_advance_is_exact(self):
        t0 = self.vp.now()
        self.vp.reg_read(abi.STATUS)
        t1 = self.vp.now()
        self.assertGreater(t1, t0, "a register read takes bus time")
        self.assertEqual(self.vp.advance(1000), t1 + 1_000_000)

    def test_errors_name_the_access_and_leave_the_connection_usable(self):
        with self.assertRaises(RemoteError) as e:
            self.vp.read32(0x10)
        self.assertEqual(e.exception.status_name, "OUT_OF_MAP")
        self.assertIn("0x10", e.exception.message)
        with self.assertRaises(RemoteError) as e:
            self.vp.reg_write(abi.ID, 1)
        self.assertEqual(e.exception.status_name, "BUS_ERROR")
        with self.assertRaises(RemoteError) as e:
            self.vp.call(0x7F)
        self.assertEqual(e.exception.status_name, "UNKNOWN_OP")
        with self.assertRaises(RemoteError) as e:
            self.vp.call(0x10, b"\x00")  # READ32 with a 1-byte payload
        self.assertEqual(e.exception.status_name, "MALFORMED")
        self.assertEqual(self.vp.reg_read(abi.ID), abi.ID_VALUE)

    def test_a_wait_with_a_timeout_and_nothing_pending_times_out(self):
        t0 = self.vp.now()
        raised, at = self.vp.wait_irq_for(500)
        self.assertFalse(raised)
        self.assertEqual(at, t0 + 500_000)


class Memory(ServedTest):
    def test_bulk_transfers_over_16_mib_are_split_and_round_trip(self):
        data = bytes((i * 7 + (i >> 12)) & 0xFF for i in range(17 * 1024 * 1024 + 3))
        t0 = self.vp.now()
        self.vp.write_mem(self.vp.dram(0x100000), data)
        self.assertEqual(self.vp.read_mem(self.vp.dram(0x100000), len(data)), data)
        self.assertEqual(self.vp.now(), t0, "the debug port takes no simulated time")

    def test_64_bit_accesses_reach_dram(self):
        self.vp.write64(self.vp.dram(0x40), 0x0123456789ABCDEF)
        self.assertEqual(self.vp.read64(self.vp.dram(0x40)), 0x0123456789ABCDEF)
        self.assertEqual(self.vp.read_mem(self.vp.dram(0x40), 8),
                         struct.pack("<Q", 0x0123456789ABCDEF))


class Ending(unittest.TestCase):
    def test_finish_answers_the_report_and_writes_it(self):
        served = Served()
        self.addCleanup(served.close)
        with Client.connect(served.endpoint) as vp:
            vp.advance(10)
            end_ps, report = vp.finish()
        self.assertEqual(end_ps, report["sim_time_ps"])
        self.assertEqual(served.exit()[0], 0)
        self.assertTrue(os.path.exists(served.report))

    def test_a_client_that_goes_away_gets_the_run_written_and_exit_2(self):
        served = Served()
        self.addCleanup(served.close)
        vp = Client.connect(served.endpoint)
        vp.advance(10)
        vp.close()
        code, err = served.exit()
        self.assertEqual(code, 2)
        self.assertIn("the client closed the connection", err)
        self.assertTrue(os.path.exists(served.report))


class Descriptors(unittest.TestCase):
    def test_pack_puts_fields_where_the_abi_says(self):
        d = abi.pack("gemm", abi.OP_GEMM, abi.FLAG_TRANSPOSE_A | abi.FLAG_ACCUMULATE, 42,
                     m=128, k=768, n=3072, a_format=abi.FMT_FP8_E4M3)
        self.assertEqual(len(d), abi.DESC_BYTES)
        self.assertEqual(d[0], 0x10)
        self.assertEqual(d[1], 0b101)
        self.assertEqual(d[4:8], struct.pack("<I", 42))
        self.assertEqual(d[8:12], struct.pack("<I", 128))
        self.assertEqual(d[44], abi.FMT_FP8_E4M3)
        fields = abi.unpack("gemm", d)
        self.assertEqual((fields["m"], fields["k"], fields["n"], fields["id"]), (128, 768, 3072, 42))

    def test_an_unknown_field_is_an_error(self):
        with self.assertRaises(ValueError):
            abi.pack("dma", abi.OP_DMA_LOAD, rowz=1)


class Example(unittest.TestCase):
    def run_example(self):
        served = Served()
        self.addCleanup(served.close)
        example = subprocess.run([sys.executable, EXAMPLE, served.endpoint],
                                 capture_output=True, text=True, timeout=120)
        self.assertEqual(example.returncode, 0, example.stdout + example.stderr)
        self.assertIn("all tensors correct", example.stdout)
        self.assertEqual(served.exit()[0], 0)
        with open(served.report, "rb") as r, open(served.trace, "rb") as t:
            return r.read(), t.read()

    def test_the_example_checks_its_numbers_and_its_run_is_deterministic(self):
        first = self.run_example()
        second = self.run_example()
        self.assertEqual(first[0], second[0], "reports differ between two runs")
        self.assertEqual(first[1], second[1], "traces differ between two runs")


if __name__ == "__main__":
    unittest.main()
