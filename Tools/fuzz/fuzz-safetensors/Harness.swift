// libFuzzer harness: bytes as a safetensors file, then as a Backprop model.
import FuzzSupport
import ModelFile

func fuzzSafeTensors(_ bytes: [UInt8]) {
    guard let file = try? SafeTensorsFile.decode(bytes) else { return }
    _ = try? ModelFile.decode(file)
}

#if FUZZING
import CFuzzer

/// The entry point SwiftPM gives this executable (`fuzz_safetensors_main`), handing the arguments to libFuzzer.
@_cdecl("fuzz_safetensors_main")
func fuzzingMain(_ count: Int32, _ arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var (count, arguments) = (count, arguments)
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzSafeTensors(size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size)))
        return 0
    }
}
#else
/// Without libFuzzer: replays the files and folders given as arguments.
@main
struct Replay {
    static func main() { replayFiles(CommandLine.arguments.dropFirst(), through: fuzzSafeTensors) }
}
#endif
