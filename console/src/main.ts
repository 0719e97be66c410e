import { createApp } from "vue";
import { createPinia } from "pinia";
import App from "./App.vue";
import { router } from "./router";
import { authenticateWith } from "./api/client";
import { useSession } from "./stores/session";
import "./style.css";

const app = createApp(App).use(createPinia());
const session = useSession();
authenticateWith(session.accessToken);
app.use(router).mount("#app");
