// A console address that is no page: only the frame (who is logged in, the pages of their role).
"use strict";

Console.page(() => {});
