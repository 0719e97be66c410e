/// <reference types="vite/client" />
import "vue-router";

declare module "vue-router" {
  interface RouteMeta {
    /** Shown without signing in. */
    public?: boolean;
    /** A screen that writes, or shows what only writers may see: not a viewer's. */
    writes?: boolean;
    /** The administrators' only. */
    admins?: boolean;
  }
}
