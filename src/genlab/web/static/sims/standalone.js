// For a page that only holds simulations (tests, /static/sims/standalone.html): mount them all.
import { mountAll } from "./index.js";

mountAll();
