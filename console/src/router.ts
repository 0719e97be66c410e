/** The console's screens. Every one has an address that can be bookmarked and reloaded:
 * the gateway answers index.html for these paths (telecast_gateway/console.py: ROUTES,
 * kept in step with the top-level paths here). */
import { createRouter, createWebHistory } from "vue-router";
import { useSession } from "./stores/session";

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/", redirect: "/dashboard" },
    { path: "/login", component: () => import("./views/SignIn.vue"), meta: { public: true } },
    { path: "/dashboard", component: () => import("./views/DashboardPage.vue") },
    { path: "/password", component: () => import("./views/PasswordPage.vue") },
    { path: "/campaigns", component: () => import("./views/CampaignList.vue") },
    { path: "/campaigns/new", component: () => import("./views/CampaignForm.vue"), meta: { writes: true } },
    { path: "/campaigns/:id", component: () => import("./views/CampaignPage.vue"), props: true },
    {
      path: "/campaigns/:id/edit",
      component: () => import("./views/CampaignForm.vue"),
      props: true,
      meta: { writes: true },
    },
    { path: "/contacts", component: () => import("./views/ContactsPage.vue") },
    { path: "/segments", component: () => import("./views/SegmentsPage.vue") },
    { path: "/segments/new", component: () => import("./views/SegmentEditor.vue"), meta: { writes: true } },
    { path: "/segments/:id", component: () => import("./views/SegmentEditor.vue"), props: true },
    { path: "/templates", component: () => import("./views/TemplatesPage.vue") },
    { path: "/templates/new", component: () => import("./views/TemplateEditor.vue"), meta: { writes: true } },
    { path: "/templates/:id", component: () => import("./views/TemplateEditor.vue"), props: true },
    { path: "/webhooks", component: () => import("./views/WebhooksPage.vue"), meta: { writes: true } },
    { path: "/webhooks/:id", component: () => import("./views/WebhookPage.vue"), props: true, meta: { writes: true } },
    { path: "/operators", component: () => import("./views/OperatorsPage.vue"), meta: { admins: true } },
    { path: "/:unknown(.*)*", redirect: "/dashboard" },
  ],
});

router.beforeEach(async (to) => {
  const session = useSession();
  if (to.meta.public) return true;
  if (!session.signedIn) return { path: "/login", query: { next: to.fullPath } };
  if (!session.operator) {
    try {
      await session.loadOperator();
    } catch {
      session.forget();
      return { path: "/login", query: { next: to.fullPath } };
    }
  }
  // Nothing else would answer (403 PASSWORD_CHANGE_REQUIRED) before a password of their own.
  if (session.mustChangePassword && to.path !== "/password") {
    return { path: "/password", query: { next: to.fullPath } };
  }
  // A viewer has no screen that writes; an address typed in leads to the list instead.
  if (to.meta.writes && !session.canWrite) return "/campaigns";
  if (to.meta.admins && session.role !== "admin") return "/dashboard";
  return true;
});
