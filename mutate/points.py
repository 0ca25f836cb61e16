"""mutate/points.py: mutation points of C source, found in libclang's AST.

Nothing here reads the source with regular expressions to find a point: every point is an AST
node (a binary or unary operator, a condition, an expression statement, an integer literal, a
return statement, a call's arguments). The source text is only read to cut the replaced span
and to check that the span really is the node (a node that comes out of a macro expansion maps
to the macro's invocation, and is skipped).

Operators (the OP of a key):
  ROR   relational and equality replacement: < -> <= and >, <= -> < and >=, > -> >= and <,
        >= -> > and <=, == -> !=, != -> ==
  LCR   logical connector replacement: && -> ||, || -> &&
  NEG   condition negation of an if, while, do-while or ?: condition: c -> !(c), !c -> c
        (not when the condition is a single == or !=: ROR makes that mutant already)
  DEL   removal of an expression statement that calls a function or assigns: s; -> (void)0;
  CONST integer literal +1 and -1 (not in case labels, array sizes or initialisers at file scope)
  RET   return value replacement: a pointer -> NULL, an integer or enum -> 0 and -1, a bool ->
        false or true (whichever it is not)
  SWAP  two adjacent arguments of one call exchanged when their types (as written, before any
        conversion) are the same and their texts differ

Exclusion rules (a point inside an excluded region is not made; see mutate/README.md):
  log      a statement that calls a log function (LOG_FUNCS) or an if whose branches hold nothing
           but such statements (the condition too)
  oom      an if whose condition tests the result of an allocation (ALLOC_FUNCS) for NULL: its
           condition and its branch
  abort    a statement that calls an abort function (ABORT_FUNCS), and an if/case whose branch
           holds one: the condition and the branch
  mutant   the deliberate-bug switches (`gw_mutant_on(...)`, reference-server/mutants.h): a span
           that holds such a call, and the branch a positive test of one guards (a test is
           positive when it holds an un-negated switch in an && chain, or is an || chain of
           positive tests: with every switch off, its branch never runs)
  io       an if whose condition tests a call of the SQLite API (IO_FUNCS) for failure
           (`!= SQLITE_OK`, `!= SQLITE_DONE`): the condition and its branch. The store's
           statements are constants compiled against its own schema, so SQLite fails them only
           when it runs out of memory or the disk fails, neither of which a client can cause
           (the reason of the oom rule)
  alloc-size  the arguments of an allocation that takes only sizes (SIZE_ALLOC_FUNCS)
  free     a deallocation statement (FREE_FUNCS, or a call of *_free, *_unref, *_release,
           *_destroy) is not removed
"""

import hashlib
import json
import os
import sys

import clang.cindex as ci

LOG_FUNCS = {"wc_log", "wc_error", "_lws_log", "lwsl_emit_stderr", "fprintf", "vfprintf",
             "printf", "perror", "fputs", "lws_emit"}
ALLOC_FUNCS = {"malloc", "calloc", "realloc", "strdup", "strndup", "wc_xmalloc", "wc_xcalloc",
               "wc_xrealloc", "wc_xstrdup", "wc_xstrndup", "wc_xasprintf", "lws_zalloc",
               "lws_malloc", "lws_realloc", "sqlite3_malloc", "sqlite3_mprintf", "json_object",
               "json_array", "json_string", "json_pack", "json_dumps", "json_deep_copy",
               "json_copy", "json_loads", "json_loadb", "json_integer", "json_real"}
ABORT_FUNCS = {"abort", "exit", "_exit", "wc_bug", "__assert_fail", "__builtin_trap",
               "__builtin_unreachable"}
# allocations whose arguments are only sizes: a larger zeroed block is not observable, a smaller
# one is a heap overflow whose effect is the allocator's slack, not the suite's power (make asan)
SIZE_ALLOC_FUNCS = {"malloc", "calloc", "realloc", "wc_xmalloc", "wc_xcalloc", "wc_xrealloc",
                    "lws_zalloc", "lws_malloc", "lws_realloc", "sqlite3_malloc"}
FREE_FUNCS = {"free", "json_decref", "sqlite3_finalize", "sqlite3_close", "sqlite3_free",
              "lws_free", "wc_buf_release", "fclose"}
FREE_SUFFIXES = ("_free", "_unref", "_release", "_destroy")
MUTANT_SWITCH = "gw_mutant_on"
IO_FUNCS = {"sqlite3_prepare_v2", "sqlite3_exec", "sqlite3_step", "sqlite3_open"}
IO_OK = {"SQLITE_OK", "SQLITE_DONE"}

REL_OPS = {"<": ["<=", ">"], "<=": ["<", ">="], ">": [">=", "<"], ">=": [">", "<="],
           "==": ["!="], "!=": ["=="]}
LOG_OPS = {"&&": ["||"], "||": ["&&"]}
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="}
OPERATORS = ["ROR", "LCR", "NEG", "DEL", "CONST", "RET", "SWAP"]

K = ci.CursorKind
_lib_checked = False


def setup_libclang():
    """Point the bindings at Debian's libclang-14 when they cannot find a libclang alone."""
    global _lib_checked
    if _lib_checked:
        return
    _lib_checked = True
    try:
        ci.Index.create()
    except Exception:
        for cand in ("/usr/lib/llvm-14/lib/libclang-14.so.1", "/usr/lib/llvm-14/lib/libclang.so",
                     "/usr/lib/x86_64-linux-gnu/libclang-14.so.1"):
            if os.path.exists(cand):
                ci.Config.loaded = False
                ci.Config.set_library_file(cand)
                return


def clang_args(include_dirs, extra=()):
    args = ["-std=c11", "-D_GNU_SOURCE", "-xc"]
    for d in include_dirs:
        args.append("-I" + d)
    res = "/usr/lib/llvm-14/lib/clang"
    if os.path.isdir(res):
        for v in sorted(os.listdir(res)):
            inc = os.path.join(res, v, "include")
            if os.path.isdir(inc):
                args += ["-isystem", inc]
    return args + list(extra)


def norm(text):
    return " ".join(text.split())


def mutant_key(m):
    return [m["file"], m["function"], m["op"], m["occurrence"], m["original"], m["mutant"]]


def key_text(m):
    return json.dumps(mutant_key(m), ensure_ascii=False)


def key_id(key_list):
    blob = json.dumps(key_list, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


class FileMutator:
    """The mutation points of one file, restricted to the functions wanted(name) accepts."""

    def __init__(self, path, display, wanted, args):
        self.path = path
        self.display = display
        self.wanted = wanted
        with open(path, "rb") as f:
            self.src = f.read()
        setup_libclang()
        idx = ci.Index.create()
        opts = ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
        self.tu = idx.parse(path, args=args, options=opts)
        errs = [d for d in self.tu.diagnostics if d.severity >= ci.Diagnostic.Error]
        if errs:
            d = errs[0]
            loc = d.location
            raise RuntimeError("%s:%s:%s: libclang: %s (%d error(s): the AST would be incomplete)"
                               % (loc.file.name if loc.file else path, loc.line, loc.column,
                                  d.spelling, len(errs)))
        self.macros = []
        self.func_names = []
        for c in self.tu.cursor.get_children():
            if not self._here(c):
                continue
            if c.kind == K.MACRO_INSTANTIATION:
                self.macros.append((c.extent.start.offset, c.extent.end.offset))
        self.points = []
        self.excluded = {}  # rule -> count of nodes skipped by it (for the report)

    # --- helpers ------------------------------------------------------------------------
    def _here(self, c):
        f = c.extent.start.file
        return f is not None and os.path.samefile(f.name, self.path) if f else False

    def text(self, c):
        return self.src[c.extent.start.offset:c.extent.end.offset].decode("utf-8", "replace")

    def span(self, c):
        return c.extent.start.offset, c.extent.end.offset

    def in_macro(self, start, end):
        """True when [start, end) lies within one macro invocation (the node is an expansion)."""
        for ms, me in self.macros:
            if ms <= start and end <= me:
                return True
        return False

    def line_of(self, off):
        return self.src.count(b"\n", 0, off) + 1

    @staticmethod
    def strip(c):
        """Through implicit casts and parentheses to the expression as written."""
        while c is not None and c.kind in (K.UNEXPOSED_EXPR, K.PAREN_EXPR):
            ch = list(c.get_children())
            if len(ch) != 1:
                break
            c = ch[0]
        return c

    @staticmethod
    def callee(c):
        if c.kind != K.CALL_EXPR:
            return None
        return c.spelling or None

    def calls_in(self, c):
        """Names of every function called inside c (c included)."""
        out = set()
        stack = [c]
        while stack:
            n = stack.pop()
            if n.kind == K.CALL_EXPR and n.spelling:
                out.add(n.spelling)
            stack.extend(n.get_children())
        return out

    def is_log_stmt(self, c):
        return c.kind not in (K.IF_STMT, K.COMPOUND_STMT) and bool(self.calls_in(c) & LOG_FUNCS)

    def only_log(self, c):
        """A branch with nothing but log statements (a compound of them, or one)."""
        if c.kind == K.COMPOUND_STMT:
            ch = list(c.get_children())
            return bool(ch) and all(self.only_log(x) for x in ch)
        return self.is_log_stmt(c)

    def has_abort(self, c):
        return bool(self.calls_in(c) & ABORT_FUNCS)

    def is_free_call(self, c):
        c = self.strip(c)
        name = self.callee(c)
        return bool(name) and (name in FREE_FUNCS or name.endswith(FREE_SUFFIXES))

    def op_token(self, c, ops, after=None):
        """The operator token of a binary node: the first token at or after the LHS's end."""
        ch = list(c.get_children())
        if len(ch) != 2:
            return None
        lhs_end = ch[0].extent.end.offset
        rhs_start = ch[1].extent.start.offset
        for t in c.get_tokens():
            o = t.extent.start.offset
            if o < lhs_end:
                continue
            if o >= rhs_start:
                return None
            return (t.spelling, o, t.extent.end.offset) if t.spelling in ops else None
        return None

    def unary_token(self, c):
        toks = list(c.get_tokens())
        if not toks:
            return None
        first, last = toks[0], toks[-1]
        if first.extent.start.offset == c.extent.start.offset and first.spelling in ("!", "++", "--", "-", "~", "*", "&"):
            return first.spelling, "prefix"
        if last.spelling in ("++", "--") and last.extent.end.offset == c.extent.end.offset:
            return last.spelling, "postfix"
        return None

    # --- the walk ----------------------------------------------------------------------
    def run(self):
        for c in self.tu.cursor.get_children():
            if c.kind == K.FUNCTION_DECL and c.is_definition() and self._here(c):
                self.func_names.append(c.spelling)
                if self.wanted(c.spelling):
                    self.func = c
                    self.alloc_assigns = self._alloc_assignments(c)
                    self.walk(c, None, False)
        self._number()
        return self.points

    def _skip(self, rule):
        self.excluded[rule] = self.excluded.get(rule, 0) + 1

    def _alloc_assignments(self, fn):
        """(offset, lhs text, is_alloc) for every assignment or initialised declaration in fn."""
        out = []
        stack = [fn]
        while stack:
            n = stack.pop()
            stack.extend(n.get_children())
            rhs = None
            lhs = None
            if n.kind == K.VAR_DECL:
                ch = [x for x in n.get_children() if x.kind.is_expression()]
                if ch:
                    lhs, rhs = n.spelling, ch[-1]
            elif n.kind == K.BINARY_OPERATOR:
                tok = self.op_token(n, {"="})
                if tok:
                    ch = list(n.get_children())
                    lhs, rhs = norm(self.text(ch[0])), ch[1]
            if lhs is not None:
                r = self.strip(rhs)
                out.append((n.extent.start.offset, lhs, self.callee(r) in ALLOC_FUNCS if r else False))
        out.sort()
        return out

    def null_test_of_alloc(self, cond):
        """cond is `!E`, `E == NULL` or `E == 0` with E an allocation result."""
        c = self.strip(cond)
        e = None
        if c.kind == K.UNARY_OPERATOR and self.unary_token(c) == ("!", "prefix"):
            e = list(c.get_children())[0]
        elif c.kind == K.BINARY_OPERATOR and self.op_token(c, {"=="}):
            a, b = list(c.get_children())
            for x, y in ((a, b), (b, a)):
                yt = norm(self.text(y))
                if yt in ("NULL", "0", "((void *)0)"):
                    e = x
        if e is None:
            return False
        e = self.strip(e)
        if self.callee(e) in ALLOC_FUNCS:
            return True
        if e.kind == K.BINARY_OPERATOR and self.op_token(e, {"="}):
            r = self.strip(list(e.get_children())[1])
            return self.callee(r) in ALLOC_FUNCS
        name = norm(self.text(e))
        last = None
        for off, lhs, is_alloc in self.alloc_assigns:
            if off < cond.extent.start.offset and lhs == name:
                last = is_alloc
        return bool(last)

    def positive_switch(self, cond):
        """cond is gw_mutant_on(...) or a && chain with an un-negated gw_mutant_on(...)."""
        c = self.strip(cond)
        if self.callee(c) == MUTANT_SWITCH:
            return True
        if c.kind == K.BINARY_OPERATOR and self.op_token(c, {"&&"}):
            return any(self.positive_switch(x) for x in c.get_children())
        if c.kind == K.BINARY_OPERATOR and self.op_token(c, {"||"}):
            return all(self.positive_switch(x) for x in c.get_children())
        return False

    def io_failure_test(self, cond):
        """cond is `sqlite3_xxx(...) != SQLITE_OK` (or SQLITE_DONE), either way round."""
        c = self.strip(cond)
        if c.kind != K.BINARY_OPERATOR or not self.op_token(c, {"!="}):
            return False
        sides = [self.strip(x) for x in c.get_children()]
        if len(sides) != 2:
            return False
        names = {self.text(x).strip() for x in sides}
        return any(self.callee(x) in IO_FUNCS for x in sides) and bool(names & IO_OK)

    def walk(self, c, parent, stmt_ctx):
        """stmt_ctx: c stands where a statement stands (a compound's child, a branch, a body).
        The statement's first line is kept for the points under it (cov_line): gcov counts a
        statement that spans lines on its first line, not on the continuation line where an
        operator or an argument of it stands."""
        if not stmt_ctx:
            return self._walk(c, parent, stmt_ctx)
        saved = getattr(self, "stmt_line", None)
        self.stmt_line = c.extent.start.line
        try:
            return self._walk(c, parent, stmt_ctx)
        finally:
            self.stmt_line = saved

    def _walk(self, c, parent, stmt_ctx):
        k = c.kind
        # --- exclusion rules on whole regions ---
        if stmt_ctx and k not in (K.COMPOUND_STMT, K.IF_STMT, K.CASE_STMT, K.DEFAULT_STMT,
                                  K.SWITCH_STMT, K.WHILE_STMT, K.FOR_STMT, K.DO_STMT,
                                  K.LABEL_STMT):
            if self.is_log_stmt(c):
                self._skip("log")
                return
            if self.has_abort(c):
                self._skip("abort")
                return
        if k == K.IF_STMT:
            ch = list(c.get_children())
            cond, branches = ch[0], ch[1:]
            if all(self.only_log(b) for b in branches):
                self._skip("log")
                return
            if self.null_test_of_alloc(cond):
                self._skip("oom")
                if len(branches) > 1:
                    self.walk(branches[1], c, True)
                return
            if any(self.has_abort(b) for b in branches[:1]):
                self._skip("abort")
                if len(branches) > 1:
                    self.walk(branches[1], c, True)
                return
            if self.positive_switch(cond):
                self._skip("mutant")
                if len(branches) > 1:
                    self.walk(branches[1], c, True)
                return
            if self.io_failure_test(cond):
                self._skip("io")
                if len(branches) > 1:
                    self.walk(branches[1], c, True)
                return
            self.condition(cond)
            self.walk(cond, c, False)
            for b in branches:
                self.walk(b, c, True)
            return
        if k in (K.CASE_STMT, K.DEFAULT_STMT):
            ch = list(c.get_children())
            body = ch[-1]
            if self.has_abort(body) and body.kind != K.COMPOUND_STMT and body.kind not in (
                    K.CASE_STMT, K.DEFAULT_STMT):
                self._skip("abort")
                return
            self.walk(body, c, True)  # the label itself is never mutated
            return
        if k == K.CONDITIONAL_OPERATOR:
            ch = list(c.get_children())
            if len(ch) == 3 and self.positive_switch(ch[0]):
                self._skip("mutant")
                self.walk(ch[2], c, False)
                return
            if len(ch) == 3:
                self.condition(ch[0])
        if k == K.WHILE_STMT:
            ch = list(c.get_children())
            self.condition(ch[0])
            self.walk(ch[0], c, False)
            self.walk(ch[1], c, True)
            return
        if k == K.DO_STMT:
            ch = list(c.get_children())
            self.walk(ch[0], c, True)
            self.condition(ch[1])
            self.walk(ch[1], c, False)
            return
        if k == K.FOR_STMT:
            ch = list(c.get_children())
            for x in ch[:-1]:
                self.walk(x, c, False)
            self.walk(ch[-1], c, True)
            return
        if k == K.COMPOUND_STMT:
            for x in c.get_children():
                self.walk(x, c, True)
            return
        if k in (K.SWITCH_STMT, K.LABEL_STMT):
            ch = list(c.get_children())
            for x in ch[:-1]:
                self.walk(x, c, False)
            self.walk(ch[-1], c, True)
            return
        if k == K.CALL_EXPR and c.spelling == MUTANT_SWITCH:
            self._skip("mutant")
            return
        if k == K.CALL_EXPR and c.spelling in SIZE_ALLOC_FUNCS:
            self._skip("alloc-size")
            return
        if k == K.VAR_DECL and c.type.kind in (ci.TypeKind.CONSTANTARRAY, ci.TypeKind.VARIABLEARRAY):
            # the array's size is a declaration, not behaviour; its initialiser is walked
            for x in c.get_children():
                if x.kind == K.INIT_LIST_EXPR:
                    self.walk(x, c, False)
            return
        if k == K.DECL_STMT:
            for x in c.get_children():
                self.walk(x, c, False)
            return
        # --- the points of this node ---
        if stmt_ctx:
            self.removal(c)
        if k == K.BINARY_OPERATOR:
            tok = self.op_token(c, set(REL_OPS) | set(LOG_OPS))
            if tok:
                op, s, e = tok
                table = REL_OPS if op in REL_OPS else LOG_OPS
                for rep in table[op]:
                    self.add("ROR" if table is REL_OPS else "LCR", c, s, e, rep)
        elif k == K.INTEGER_LITERAL:
            self.literal(c, parent)
        elif k == K.RETURN_STMT:
            self.ret(c)
        elif k == K.CALL_EXPR:
            self.swap(c)
        for x in c.get_children():
            self.walk(x, c, False)

    # --- operators -----------------------------------------------------------------------
    def add(self, op, node, s, e, rep, line_node=None):
        orig = self.src[s:e].decode("utf-8", "replace")
        if self.in_macro(s, e) and not any(ms == s and me == e for ms, me in self.macros):
            self._skip("macro")
            return
        if MUTANT_SWITCH in orig:
            self._skip("mutant")
            return
        if norm(orig) == norm(rep):
            return
        ls = self.line_of(s)
        le = self.line_of(max(s, e - 1))
        # a point's context: the node's whole text, for the report
        self.points.append({
            "file": self.display, "function": self.func.spelling, "op": op,
            "original": norm(orig), "mutant": norm(rep), "line": ls, "end_line": le,
            "cov_line": min(ls, getattr(self, "stmt_line", None) or ls),
            "start": s, "end": e, "replacement": rep,
            "context": norm(self.text(node))[:160],
            "source": norm(self.src.split(b"\n")[ls - 1].decode("utf-8", "replace"))[:200],
        })

    def condition(self, cond):
        s, e = self.span(cond)
        if self.in_macro(s, e):
            self._skip("macro")
            return
        c = self.strip(cond)
        if c.kind == K.BINARY_OPERATOR and self.op_token(c, {"==", "!="}):
            return  # ROR's == <-> != is this negation already
        if c.kind == K.UNARY_OPERATOR and self.unary_token(c) == ("!", "prefix"):
            inner = list(c.get_children())[0]
            is_, ie = self.span(inner)
            txt = self.src[is_:ie].decode("utf-8", "replace")
            self.add("NEG", cond, s, e, txt)
            return
        self.add("NEG", cond, s, e, "!(" + self.src[s:e].decode("utf-8", "replace") + ")")

    def removal(self, c):
        e = self.strip(c)
        if e is None:
            return
        is_call = e.kind == K.CALL_EXPR
        is_assign = (e.kind == K.COMPOUND_ASSIGNMENT_OPERATOR or
                     (e.kind == K.BINARY_OPERATOR and self.op_token(e, {"="})) or
                     (e.kind == K.UNARY_OPERATOR and
                      (self.unary_token(e) or ("", ""))[0] in ("++", "--")))
        if not (is_call or is_assign):
            return
        if is_call and self.is_free_call(e):
            self._skip("free")
            return
        s, en = self.span(c)
        self.add("DEL", c, s, en, "(void)0")

    def literal(self, c, parent):
        s, e = self.span(c)
        if self.in_macro(s, e):
            self._skip("macro")
            return
        txt = self.src[s:e].decode()
        digits = txt.rstrip("uUlL")
        suffix = txt[len(digits):]
        try:
            v = int(digits, 0) if not (len(digits) > 1 and digits[0] == "0" and digits[1] not in "xXbB") else int(digits, 8)
        except ValueError:
            return
        hexa = digits.lower().startswith("0x")
        for nv in (v + 1, v - 1):
            if nv < 0:
                rep = "(-1)" if nv == -1 else "(%d)" % nv
            elif hexa:
                rep = "0x%x%s" % (nv, suffix)
            else:
                rep = "%d%s" % (nv, suffix)
            self.add("CONST", c, s, e, rep)

    def ret(self, c):
        ch = [x for x in c.get_children()]
        if not ch:
            return
        expr = ch[0]
        s, e = self.span(expr)
        rt = self.func.result_type.get_canonical()
        kinds = ci.TypeKind
        if rt.kind == kinds.POINTER:
            reps = ["NULL"]
        elif rt.kind == kinds.BOOL:
            reps = ["false", "true"]
        elif rt.kind in (kinds.INT, kinds.UINT, kinds.LONG, kinds.ULONG, kinds.LONGLONG,
                         kinds.ULONGLONG, kinds.SHORT, kinds.USHORT, kinds.CHAR_S, kinds.UCHAR,
                         kinds.SCHAR, kinds.CHAR_U, kinds.ENUM):
            reps = ["0", "-1"]
        else:
            return
        orig = norm(self.src[s:e].decode("utf-8", "replace"))
        for rep in reps:
            if orig == rep or (rep == "NULL" and orig in ("0", "((void *)0)")) or \
                    (rep == "false" and orig == "0") or (rep == "true" and orig == "1"):
                continue
            self.add("RET", c, s, e, rep)

    def swap(self, c):
        if c.spelling in LOG_FUNCS or c.spelling == MUTANT_SWITCH:
            return
        args = list(c.get_arguments())
        for i in range(len(args) - 1):
            a, b = args[i], args[i + 1]
            ta = self.strip(a).type.get_canonical().spelling
            tb = self.strip(b).type.get_canonical().spelling
            if ta != tb or not ta:
                continue
            sa, ea = self.span(a)
            sb, eb = self.span(b)
            txa = self.src[sa:ea].decode("utf-8", "replace")
            txb = self.src[sb:eb].decode("utf-8", "replace")
            if norm(txa) == norm(txb) or ea > sb:
                continue
            if self.in_macro(sa, eb):
                self._skip("macro")
                continue
            between = self.src[ea:sb].decode("utf-8", "replace")
            self.add("SWAP", c, sa, eb, txb + between + txa)

    def _number(self):
        """The occurrence index of each point among equal (function, op, original, mutant)."""
        seen = {}
        self.points.sort(key=lambda p: (p["start"], p["end"], p["op"], p["mutant"]))
        uniq = []
        spans = set()
        for p in self.points:
            sig = (p["start"], p["end"], p["replacement"])
            if sig in spans:
                continue  # two operators made the same text: keep the first
            spans.add(sig)
            k = (p["function"], p["op"], p["original"], p["mutant"])
            p["occurrence"] = seen.get(k, 0)
            seen[k] = p["occurrence"] + 1
            p["key"] = mutant_key(p)
            p["id"] = key_id(p["key"])
            uniq.append(p)
        self.points = uniq


def apply(src_bytes, point):
    return src_bytes[:point["start"]] + point["replacement"].encode() + src_bytes[point["end"]:]


def find_points(path, display, wanted, args):
    fm = FileMutator(path, display, wanted, args)
    pts = fm.run()
    return pts, fm.excluded, fm.func_names


if __name__ == "__main__":
    # python3 mutate/points.py FILE [FUNCTION...]: print the points of one file (debugging)
    path = sys.argv[1]
    names = set(sys.argv[2:])
    pts, excl, _ = find_points(path, os.path.basename(path),
                               lambda n: not names or n in names, clang_args(["lib"]))
    for p in pts:
        print("%s:%d: %-5s %s  %s -> %s" % (p["file"], p["line"], p["op"], p["id"],
                                            p["original"][:60], p["mutant"][:60]))
    print("excluded:", excl, file=sys.stderr)
