/**
 * The event Flux records after a push (`PushResult.Summary`):
 * `pushed commit '<short sha>' to branch '<branch>'[ and refspecs '<r>']`, then the commit
 * message on the next line when there is one.
 * @internal
 */
export function pushSummary(options: {
  commit: string;
  branch: string;
  refspecs?: string[];
  message: string;
}): string {
  let summary = `pushed commit '${options.commit.slice(0, 7)}' to branch '${
    options.branch
  }'`;
  if (options.refspecs && options.refspecs.length > 0) {
    summary += ` and refspecs ${options.refspecs
      .map(r => `'${r}'`)
      .join(', ')}`;
  }
  return options.message ? `${summary}\n${options.message}` : summary;
}
