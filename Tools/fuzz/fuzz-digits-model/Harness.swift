// libFuzzer harness: bytes as a digit model file; a model that loads classifies one drawn 0.
import FuzzSupport
import DigitsKit
import PNGCodec

let ring: GrayImage = {
    var image = GrayImage(width: 40, height: 40)
    for y in 0..<40 {
        for x in 0..<40 {
            let d = (Double((x - 20) * (x - 20) + (y - 20) * (y - 20))).squareRoot()
            image[x, y] = abs(d - 12) < 2 ? 0 : 1
        }
    }
    return image
}()

func fuzzDigitModel(_ bytes: [UInt8]) {
    guard let classifier = try? DigitClassifier(modelBytes: bytes) else { return }
    _ = try? classifier.classify(ring)
}

#if FUZZING
import CFuzzer

/// The entry point SwiftPM gives this executable (`fuzz_digits_model_main`), handing the arguments to libFuzzer.
@_cdecl("fuzz_digits_model_main")
func fuzzingMain(_ count: Int32, _ arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var (count, arguments) = (count, arguments)
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzDigitModel(size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size)))
        return 0
    }
}
#else
/// Without libFuzzer: replays the files and folders given as arguments.
@main
struct Replay {
    static func main() { replayFiles(CommandLine.arguments.dropFirst(), through: fuzzDigitModel) }
}
#endif
