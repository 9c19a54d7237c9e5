// The scenarios of kernel/tests/ieee1666.rs, written for Accellera SystemC, whose
// logs (kernel/tests/systemc/*.log) the Rust tests compare against line by line.
// Regenerate with scripts/systemc-conformance.sh (needs libsystemc-dev).
//   conformance SCENARIO     prints the scenario's log on stdout
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <systemc>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>
using namespace sc_core;

static void log(const std::string& what) {
  std::cout << sc_time_stamp().to_string() << " d" << sc_delta_count() << " " << what << "\n";
}

static std::string arg;

SC_MODULE(DeltaCount) {
  SC_CTOR(DeltaCount) { SC_THREAD(p); }
  void p() {
    log("first");
    wait(SC_ZERO_TIME);
    log("second");
    wait(1, SC_NS);
    log("third");
  }
};

SC_MODULE(InitPhase) {
  sc_signal<unsigned> sig;
  sc_event early;
  SC_CTOR(InitPhase) : sig("sig", 0) {
    SC_THREAD(reader);
    SC_METHOD(woken);
    sensitive << early;
    dont_initialize();
  }
  void reader() { log("reads " + std::to_string(sig.read())); }
  void woken() { log("woken"); }
};

SC_MODULE(SelfNotify) {
  sc_event ev;
  int own = 0, other = 0;
  SC_CTOR(SelfNotify) {
    SC_METHOD(self_notifier);
    sensitive << ev;
    SC_METHOD(other_m);
    sensitive << ev;
    dont_initialize();
    SC_THREAD(poker);
  }
  void self_notifier() { ++own; log("self_notifier " + std::to_string(own)); ev.notify(); }
  void other_m() { ++other; log("other " + std::to_string(other)); }
  void poker() { wait(1, SC_NS); ev.notify(); }
};

struct Waiters : sc_module {
  std::vector<sc_event*> evs;
  int n;
  bool cancel_first;
  SC_HAS_PROCESS(Waiters);
  Waiters(sc_module_name nm, int n_, bool cancel) : sc_module(nm), n(n_), cancel_first(cancel) {
    for (int i = 0; i < n; ++i) evs.push_back(new sc_event());
    for (int i = 0; i < n; ++i) {
      sc_spawn([this, i] { wait(*evs[i]); log("w" + std::to_string(i)); });
    }
    SC_THREAD(notifier);
  }
  void notifier() {
    wait(1, SC_NS);
    for (auto* e : evs) e->notify(SC_ZERO_TIME);
    if (cancel_first) evs[0]->cancel();
  }
};

SC_MODULE(ZeroAndDelta) {
  sc_event ev;
  SC_CTOR(ZeroAndDelta) {
    SC_THREAD(on_event);
    SC_THREAD(delta_waiter);
    SC_THREAD(notifier);
  }
  void on_event() { wait(ev); log("on_event"); }
  void delta_waiter() { wait(SC_ZERO_TIME); log("delta_waiter"); }
  void notifier() { ev.notify(SC_ZERO_TIME); }
};

SC_MODULE(OneEvent) {
  sc_event ev;
  SC_CTOR(OneEvent) {
    for (int i = 0; i < 4; ++i) sc_spawn([this, i] { wait(ev); log("t" + std::to_string(i)); });
    SC_THREAD(notifier);
  }
  void notifier() { wait(1, SC_NS); ev.notify(); }
};

SC_MODULE(StaticMethods) {
  sc_event ev;
  SC_CTOR(StaticMethods) {
    sc_spawn([this] { wait(ev); log("thread"); });
    for (int i = 0; i < 3; ++i) {
      sc_spawn_options o;
      o.spawn_method();
      o.dont_initialize();
      o.set_sensitivity(&ev);
      sc_spawn([i] { log("m" + std::to_string(i)); }, sc_gen_unique_name("m"), &o);
    }
    SC_THREAD(notifier);
  }
  void notifier() { wait(1, SC_NS); ev.notify(SC_ZERO_TIME); }
};

SC_MODULE(LeaveOthers) {
  sc_event a, b;
  SC_CTOR(LeaveOthers) {
    for (int i = 0; i < 3; ++i) {
      sc_spawn([this, i] {
        wait(a | b);
        log("t" + std::to_string(i) + " by " + (a.triggered() ? "0" : "1"));
        if (i == 1) { wait(b); log("t1 by b again"); }
      });
    }
    SC_THREAD(notifier);
  }
  void notifier() { wait(1, SC_NS); a.notify(); wait(1, SC_NS); b.notify(); }
};

SC_MODULE(TwoSteps) {
  SC_CTOR(TwoSteps) { SC_THREAD(steps); }
  void steps() { wait(2, SC_NS); log("step"); wait(8, SC_NS); log("step"); }
};

SC_MODULE(Pause) {
  SC_CTOR(Pause) { SC_THREAD(pauser); }
  void pauser() {
    wait(3, SC_NS);
    sc_pause();
    log("after pause, same activation");
    wait(1, SC_NS);
    log("resumed");
  }
};

SC_MODULE(RunZero) {
  SC_CTOR(RunZero) { SC_THREAD(looper); }
  void looper() {
    for (int i = 0; i < 3; ++i) {
      log("pass " + std::to_string(i));
      wait(SC_ZERO_TIME);
    }
    wait(1, SC_NS);
  }
};

SC_MODULE(WaitAll) {
  sc_event a, b;
  SC_CTOR(WaitAll) { SC_THREAD(all); SC_THREAD(notifier); }
  void all() {
    wait(a & b);
    log("all fired");
    wait(sc_time(2, SC_NS), a & b);
    log(timed_out() ? "timed out" : "all fired");
  }
  void notifier() {
    wait(1, SC_NS); a.notify();
    wait(1, SC_NS); a.notify();
    wait(1, SC_NS); b.notify();
    wait(1, SC_NS); a.notify();
  }
};

SC_MODULE(NextTrigger) {
  sc_event stat, dyn;
  int runs = 0;
  SC_CTOR(NextTrigger) {
    SC_METHOD(m);
    sensitive << stat;
    SC_THREAD(driver);
  }
  void m() {
    log("m");
    ++runs;
    if (runs == 1) next_trigger(5, SC_NS);
    if (runs == 2) next_trigger(dyn);
    if (runs == 3) { next_trigger(dyn); next_trigger(); }
  }
  void driver() {
    wait(2, SC_NS); stat.notify();
    wait(5, SC_NS); stat.notify();
    wait(1, SC_NS); dyn.notify();
    wait(1, SC_NS); dyn.notify(); stat.notify();
  }
};

int sc_main(int argc, char** argv) {
  if (argc < 2) { std::cerr << "usage: conformance SCENARIO\n"; return 2; }
  arg = argv[1];
  if (arg == "delta_count") {
    DeltaCount m("m");
    sc_start();
    log("end");
  } else if (arg == "init_phase") {
    InitPhase m("m");
    m.sig.write(5);
    m.early.notify(SC_ZERO_TIME);
    sc_start();
  } else if (arg == "self_notify") {
    SelfNotify m("m");
    sc_start();
  } else if (arg == "delta_reverse") {
    Waiters m("m", 3, false);
    sc_start();
  } else if (arg == "delta_cancel") {
    Waiters m("m", 4, true);
    sc_start();
  } else if (arg == "zero_and_delta") {
    ZeroAndDelta m("m");
    sc_start();
  } else if (arg == "one_event") {
    OneEvent m("m");
    sc_start();
  } else if (arg == "static_methods") {
    StaticMethods m("m");
    sc_start();
  } else if (arg == "leave_others") {
    LeaveOthers m("m");
    sc_start();
  } else if (arg == "exit_on_starvation") {
    TwoSteps m("m");
    sc_start(5, SC_NS, SC_EXIT_ON_STARVATION);
    log("returned from sc_start(5 ns, SC_EXIT_ON_STARVATION)");
    sc_start(5, SC_NS, SC_RUN_TO_TIME);
    log("returned from sc_start(5 ns, SC_RUN_TO_TIME)");
    sc_start();
    log("end");
  } else if (arg == "pause") {
    Pause m("m");
    sc_start();
    log("returned (paused)");
    sc_start();
    log("end");
  } else if (arg == "run_zero") {
    RunZero m("m");
    for (int i = 0; i < 4; ++i) {
      sc_start(SC_ZERO_TIME);
      log("returned from sc_start(SC_ZERO_TIME)");
    }
    sc_start();
    log("end");
    sc_start(SC_ZERO_TIME);
    log("returned from sc_start(SC_ZERO_TIME)");
  } else if (arg == "wait_all") {
    WaitAll m("m");
    sc_start();
    log("end");
  } else if (arg == "next_trigger") {
    NextTrigger m("m");
    sc_start();
  } else {
    std::cerr << "unknown scenario " << arg << "\n";
    return 2;
  }
  return 0;
}
