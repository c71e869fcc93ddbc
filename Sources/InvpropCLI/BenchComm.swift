import ArgumentParser
import Collectives
import Dispatch
import Foundation

/// `invprop bench comm`: the allreduce time of a gradient-sized buffer between the processes of
/// an MPI job, for the scaling model of docs/benchmarks.md (run it under `mpirun`).
struct BenchComm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "comm",
        abstract: "Median time of an allreduce of a gradient-sized buffer between the processes of an MPI job (run under mpirun).",
        discussion: """
        Sums --megabytes of fp32 values over every process, --repeats times after one warm-up, and prints (rank 0) the \
        median seconds, the algorithm bandwidth (bytes / time) and the bus bandwidth of a ring allreduce \
        (2·(n − 1)/n · bytes / time), the figure a link's speed is compared with. Without mpirun it measures one process.
        """)

    @Option(help: "Megabytes per allreduce (default 44.7: ResNet-18's gradient).") var megabytes = 44.7
    @Option(help: "Timed allreduces (median reported).") var repeats = 10

    func validate() throws {
        guard megabytes > 0, megabytes <= 4096 else { throw ValidationError("--megabytes must be in (0, 4096], got \(megabytes)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be ≥ 1, got \(repeats)") }
    }

    func run() throws {
        let communicator: any Communicator
        do { communicator = try Launch.communicator() } catch { throw failure(error) }
        defer { (communicator as? MPICommunicator)?.finalize() }
        var values = [Float](repeating: 1, count: Int(megabytes * 1e6 / 4))
        var seconds: [Double] = []
        for round in 0...repeats {
            try communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try communicator.allreduceSum(&values)
            if round > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        guard communicator.isPrimary else { return }
        let median = seconds.sorted()[seconds.count / 2], bytes = Double(values.count * 4), n = Double(communicator.size)
        print(String(format: "allreduce of %.1f MB over %d process(es): median %.4f s of %d; algorithm bandwidth %.2f GB/s, bus bandwidth %.2f GB/s",
                     bytes / 1e6, communicator.size, median, repeats, bytes / median / 1e9, 2 * (n - 1) / n * bytes / median / 1e9))
    }
}
