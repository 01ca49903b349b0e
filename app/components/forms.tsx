import type { ReactNode } from "react";
import { Form } from "react-router";
import { Button } from "./ui";
import * as styles from "./ui.css";

// Apart from ./ui: a shared module's code goes to every page that uses any of it, and /login
// uses neither of these forms.

/**
 * The form that takes a six-digit code: the emailed one on /login/check and the
 * authenticator app's on /login/mfa. The field points at the error alert (`errorId`) while
 * there is one, so a screen reader reads why the last code was refused.
 */
export function CodeForm({
  action,
  intent,
  label,
  error,
  errorId,
  pending,
  children,
}: {
  /** The route that checks the code. */
  action: string;
  /** Sent as `intent` when the route tells its forms apart by it. */
  intent?: string;
  label: string;
  /** The last refusal, shown by an `ErrorAlert` with id `errorId`. */
  error?: unknown;
  errorId: string;
  pending: boolean;
  /** The submit button's words. */
  children: ReactNode;
}) {
  return (
    <Form method="post" action={action} className={styles.form} noValidate>
      {intent ? <input type="hidden" name="intent" value={intent} /> : null}
      <div className={styles.field}>
        <label htmlFor="code" className={styles.label}>
          {label}
        </label>
        <input
          id="code"
          name="code"
          type="text"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]*"
          maxLength={12}
          required
          className={styles.codeInput}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <Button type="submit" pending={pending} pendingLabel="Checking…">
        {children}
      </Button>
    </Form>
  );
}

/** "Sign out everywhere": POST /logout with scope=all (S22); `quiet` shows it as a link. */
export function SignOutEverywhere({ quiet = false }: { quiet?: boolean }) {
  return (
    <Form method="post" action="/logout" className={quiet ? styles.quietForm : styles.form}>
      <input type="hidden" name="scope" value="all" />
      <Button type="submit" kind={quiet ? "link" : "secondary"}>
        Sign out everywhere
      </Button>
    </Form>
  );
}
