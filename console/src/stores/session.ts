/** The signed-in operator and their tokens.
 *
 * Tokens live in sessionStorage: a reload keeps the operator signed in, a new tab signs in
 * on its own. That keeps one refresh token per tab: the API revokes a whole login when a
 * refresh token is used twice, which two tabs sharing one would do. The access token (15
 * minutes) is refreshed quietly a minute before it expires, and before any request that
 * finds it about to.
 */
import { defineStore } from "pinia";
import { computed, ref } from "vue";
import { api, unwrap, type Role, type Schemas } from "../api/client";

const KEY = "telecast.session";
const EARLY_MS = 60_000;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

export const useSession = defineStore("session", () => {
  const tokens = ref<Tokens | null>(load());
  const operator = ref<Schemas["OperatorView"] | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let refreshing: Promise<void> | null = null;

  const signedIn = computed(() => tokens.value !== null);
  const role = computed<Role>(() => operator.value?.role ?? "viewer");
  const canWrite = computed(() => role.value === "admin" || role.value === "manager");
  // Set for the production bootstrap administrator: until they choose a password of their
  // own, the API answers 403 PASSWORD_CHANGE_REQUIRED to all but /auth/me, /auth/password
  // and /auth/logout, so the console shows nothing else.
  const mustChangePassword = computed(() => operator.value?.mustChangePassword ?? false);

  function keep(answer: Schemas["AccessToken"]): void {
    tokens.value = {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      expiresAt: Date.now() + answer.expiresIn * 1000,
    };
    sessionStorage.setItem(KEY, JSON.stringify(tokens.value));
    schedule();
  }

  function schedule(): void {
    clearTimeout(timer);
    if (!tokens.value) return;
    const due = Math.max(tokens.value.expiresAt - Date.now() - EARLY_MS, 0);
    timer = setTimeout(() => void refresh().catch(forget), due);
  }

  function forget(): void {
    clearTimeout(timer);
    tokens.value = null;
    operator.value = null;
    sessionStorage.removeItem(KEY);
  }

  async function refresh(): Promise<void> {
    if (!tokens.value) return;
    // One refresh at a time: each refresh token works once.
    refreshing ??= unwrap<Schemas["AccessToken"]>(
      api.POST("/api/v1/auth/refresh", { body: { refreshToken: tokens.value.refreshToken } }),
    )
      .then(keep)
      .finally(() => (refreshing = null));
    return refreshing;
  }

  /** The access token, refreshed first when it is about to expire. */
  async function accessToken(): Promise<string | null> {
    if (refreshing) await refreshing;
    if (tokens.value && tokens.value.expiresAt - Date.now() < EARLY_MS / 2) {
      await refresh().catch(forget);
    }
    return tokens.value?.accessToken ?? null;
  }

  async function signIn(email: string, password: string): Promise<void> {
    keep(await unwrap(api.POST("/api/v1/auth/login", { body: { email, password } })));
    await loadOperator();
  }

  /** The API answers a new token pair, kept here: it signs out every other login of the
   * operator, this one included with its old tokens. */
  async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
    keep(await unwrap(api.POST("/api/v1/auth/password", { body: { currentPassword, newPassword } })));
    await loadOperator();
  }

  async function loadOperator(): Promise<void> {
    operator.value = await unwrap(api.GET("/api/v1/auth/me"));
  }

  async function signOut(): Promise<void> {
    const refreshToken = tokens.value?.refreshToken;
    if (refreshToken) {
      // Ends the login on the server too; signed out here whatever it answers.
      await api.POST("/api/v1/auth/logout", { body: { refreshToken } }).catch(() => undefined);
    }
    forget();
  }

  schedule();
  return {
    tokens,
    operator,
    signedIn,
    role,
    canWrite,
    mustChangePassword,
    accessToken,
    signIn,
    signOut,
    changePassword,
    loadOperator,
    forget,
  };
});

function load(): Tokens | null {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Tokens | null;
    // An expired access token is refreshed on first use; a spent refresh token signs out.
    return kept;
  } catch {
    return null;
  }
}
