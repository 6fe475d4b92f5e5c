import { Component, type ErrorInfo, type ReactNode } from "react";

/**
 * A view that throws while rendering (e.g. the API answered a shape this build does not
 * expect) shows what failed instead of leaving the page blank.
 */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidUpdate(prev: { resetKey?: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("view failed to render", error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return (
        <div className="state state-error" role="alert">
          <p className="state-title">This view failed to render.</p>
          <p className="state-body">
            {this.state.error.message}. The control plane may be newer or older than this dashboard; reload to try again.
          </p>
          <button type="button" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}
