// libFuzzer harness: bytes as a house-price model file; a model that loads prices one row whose
// every column reads "1".
import FuzzSupport
import HousePriceKit

func fuzzHousePriceModel(_ bytes: [UInt8]) {
    guard let predictor = try? HousePricePredictor(modelBytes: bytes) else { return }
    var row: [String: String] = [:]
    for column in predictor.pipeline.columns { row[column.name] = "1" }
    for location in predictor.pipeline.locations {
        row[location.latitude] = "1"
        row[location.longitude] = "1"
    }
    _ = try? predictor.predict(row: row)
}

#if FUZZING
import CFuzzer

/// The entry point SwiftPM gives this executable (`fuzz_house_price_model_main`), handing the arguments to libFuzzer.
@_cdecl("fuzz_house_price_model_main")
func fuzzingMain(_ count: Int32, _ arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var (count, arguments) = (count, arguments)
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzHousePriceModel(size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size)))
        return 0
    }
}
#else
/// Without libFuzzer: replays the files and folders given as arguments.
@main
struct Replay {
    static func main() { replayFiles(CommandLine.arguments.dropFirst(), through: fuzzHousePriceModel) }
}
#endif
