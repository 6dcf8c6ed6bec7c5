import Foundation

/// Detects other processes using the CPU during a measurement, from /proc/stat (all CPU time)
/// minus /proc/self/stat (ours). These machines are shared: samples taken while another job ran
/// come out up to 2x slow, so the benchmark waits for a quiet machine and discards such samples.
struct LoadMonitor {
    /// Other processes may use at most this many cores during a kept sample.
    var tolerance = 0.25

    struct Reading {
        let busyTicks: Double
        let ownTicks: Double
        let time: Double
    }

    func read() -> Reading {
        Reading(busyTicks: Self.systemBusyTicks(), ownTicks: Self.ownTicks(), time: Self.now())
    }

    /// Cores' worth of CPU that other processes used between two readings (0 when /proc is absent).
    func otherLoad(from start: Reading, to end: Reading) -> Double {
        let seconds = end.time - start.time
        guard seconds > 0 else { return 0 }
        let others = (end.busyTicks - start.busyTicks) - (end.ownTicks - start.ownTicks)
        return max(0, others / Self.ticksPerSecond / seconds)
    }

    /// Waits (up to `limit` seconds) until a `window`-second interval passes with other load
    /// under the tolerance.
    func waitForQuiet(window: Double = 1, limit: Double = 30) {
        let deadline = Self.now() + limit
        while Self.now() < deadline {
            let start = read()
            Thread.sleep(forTimeInterval: window)
            if otherLoad(from: start, to: read()) < tolerance { return }
        }
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    private static func systemBusyTicks() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return 0 }
        // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 5 else { return 0 }
        return fields.reduce(0, +) - fields[3] - fields[4]
    }

    private static func ownTicks() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return user + system
    }
}
