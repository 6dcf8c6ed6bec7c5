// libFuzzer harness: PNG bytes through libpng, compositing and the digit normaliser.
import FuzzSupport
import DigitsKit
import PNGCodec

func fuzzPNG(_ bytes: [UInt8]) {
    guard let decoded = try? PNGDecoder.decode(bytes) else { return }
    _ = try? DigitNormalizer().analyze(decoded.compositedOverContrastingBackground())
}

#if FUZZING
import CFuzzer

/// The entry point SwiftPM gives this executable (`fuzz_png_main`), handing the arguments to libFuzzer.
@_cdecl("fuzz_png_main")
func fuzzingMain(_ count: Int32, _ arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var (count, arguments) = (count, arguments)
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzPNG(size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size)))
        return 0
    }
}
#else
/// Without libFuzzer: replays the files and folders given as arguments.
@main
struct Replay {
    static func main() { replayFiles(CommandLine.arguments.dropFirst(), through: fuzzPNG) }
}
#endif
