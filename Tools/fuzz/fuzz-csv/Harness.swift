// libFuzzer harness: CSV bytes through the streaming reader, column typing and the feature
// pipeline. Must never trap; errors are fine.
import FuzzSupport
import HousePriceKit
import StrictCSV

func fuzzCSV(_ bytes: [UInt8]) {
    guard var reader = try? CSVReader(name: "fuzz.csv", source: CSVMemorySource(bytes), bufferSize: 16),
          let table = try? reader.nextTable(maximumRows: 10_000), let target = table.header.last else { return }
    guard let (targets, _) = try? FeaturePipeline.readTargets(table, name: "fuzz.csv", target: target, logTarget: false),
          !targets.isEmpty else { return }
    var typing = ColumnTyping.Options()
    typing.missing = ["?"]
    guard let (pipeline, _) = try? FeaturePipeline.fit(table, name: "fuzz.csv", target: target, typing: typing, logTarget: false,
                                                      bins: 4, trainingRows: targets.keys.sorted(), targets: targets) else { return }
    _ = try? pipeline.features(table, name: "fuzz.csv", rows: table.rows.indices)
}

#if FUZZING
import CFuzzer

/// The entry point SwiftPM gives this executable (`fuzz_csv_main`), handing the arguments to libFuzzer.
@_cdecl("fuzz_csv_main")
func fuzzingMain(_ count: Int32, _ arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var (count, arguments) = (count, arguments)
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzCSV(size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size)))
        return 0
    }
}
#else
/// Without libFuzzer: replays the files and folders given as arguments.
@main
struct Replay {
    static func main() { replayFiles(CommandLine.arguments.dropFirst(), through: fuzzCSV) }
}
#endif
