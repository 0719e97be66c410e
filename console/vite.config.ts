import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";

// The gateway serves dist/ at / (services/gateway/telecast_gateway/console.py): hashed files
// under /assets/ are cached for good, index.html never.
const gateway = process.env.TELECAST_GATEWAY ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [
    vue(),
    // Imports each Element Plus component used in a template, with its own CSS, so the
    // bundle holds only those (the library's full build is several times larger).
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
  ],
  build: {
    target: "es2022",
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev`: the API on the gateway of `make run`, the console from Vite.
    proxy: { "/api": gateway, "/schema": gateway },
  },
});
