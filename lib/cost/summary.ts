import { estimateCloudAssembly } from './assembly';
import { summaryLine } from './render';

/**
 * Prints one idle-cost line per stage of a synthesized cloud assembly (to stderr, beside the CDK's own output).
 * An estimate problem never fails the synth: it is reported on one line instead.
 */
export function printIdleCostSummary(assemblyDirectory: string, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): void {
  try {
    for (const estimate of estimateCloudAssembly(assemblyDirectory)) write(summaryLine(estimate));
  } catch (e) {
    write(`Idle cost estimate unavailable: ${(e as Error).message}`);
  }
}
