"""Text normalisation for names and addresses: width, spaces, traditional forms, pinyin.

The traditional -> simplified table is compact on purpose: it covers the characters common
in personal names, place names and addresses (no suitable conversion package is locked
here, and a full OpenCC table is several MB for characters no person record uses). A
character outside the table is kept as is, so two spellings of a rare character simply
compare unequal on characters and are still caught by pinyin.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_PAIRS = (
    "國国 華华 偉伟 張张 陳陈 劉刘 楊杨 黃黄 趙赵 吳吴 孫孙 馬马 許许 鄭郑 謝谢 韓韩 馮冯 鄧邓 "
    "蕭萧 葉叶 蘇苏 盧卢 蔣蒋 賈贾 鍾钟 陸陆 顧顾 龍龙 萬万 錢钱 嚴严 譚谭 貴贵 麗丽 紅红 軍军 "
    "強强 東东 蘭兰 鳳凤 雲云 勝胜 傑杰 寶宝 濤涛 劍剑 鵬鹏 鳴鸣 輝辉 豔艳 艷艳 靜静 瑩莹 榮荣 "
    "興兴 維维 語语 飛飞 鐵铁 義义 禮礼 愛爱 書书 學学 廣广 長长 遠远 達达 運运 進进 連连 園园 "
    "圓圆 團团 權权 歡欢 聖圣 藝艺 衛卫 錦锦 銀银 銘铭 鋒锋 釗钊 嬌娇 婭娅 嫻娴 瓊琼 環环 現现 "
    "瑋玮 亞亚 綠绿 線线 純纯 紀纪 約约 綺绮 絲丝 縣县 鄉乡 鎮镇 區区 裡里 莊庄 號号 樓楼 門门 "
    "單单 層层 買买 賣卖 開开 關关 陽阳 嶺岭 島岛 灣湾 湧涌 滿满 漢汉 濟济 潔洁 澤泽 瀋沈 渾浑 "
    "鴻鸿 鶴鹤 鷹鹰 麥麦 黨党 齊齐 齡龄 憲宪 懷怀 應应 慶庆 憶忆 憐怜 順顺 頌颂 頤颐 顏颜 風风 "
    "髮发 發发 臺台 師师 帥帅 歸归 時时 晉晋 曉晓 暉晖 曆历 歷历 樂乐 樺桦 橋桥 機机 標标 樹树 "
    "櫻樱 氣气 溫温 淨净 滬沪 潤润 燦灿 煥焕 爾尔 獎奖 瑪玛 產产 畢毕 異异 盤盘 碩硕 確确 禎祯 "
    "穎颖 積积 筆笔 節节 範范 簡简 絹绢 經经 繼继 續续 羅罗 聰聪 聯联 肅肃 腦脑 萊莱 蓮莲 薩萨 "
    "藍蓝 蘆芦 蘊蕴 處处 補补 視视 覺觉 親亲 觀观 計计 訓训 記记 詩诗 誠诚 誼谊 談谈 論论 諾诺 "
    "謙谦 讓让 豐丰 貞贞 財财 賢贤 質质 贊赞 躍跃 車车 軒轩 輕轻 農农 郵邮 鄒邹 醫医 釋释 鈞钧 "
    "鈺钰 鋼钢 錄录 鍵键 鏡镜 鐘钟 閃闪 閣阁 闊阔 陣阵 陰阴 隊队 階阶 際际 隨随 險险 雙双 雞鸡 "
    "離离 難难 電电 靈灵 韋韦 韻韵 頂顶 項项 頭头 題题 願愿 類类 顯显 餘余 館馆 駿骏 騰腾 驗验 "
    "體体 魯鲁 鮑鲍 鵑鹃 點点 齒齿 龔龚 龐庞 衆众 眾众 倫伦 僑侨 億亿 儀仪 優优 兒儿 兩两 凱凯 "
    "則则 剛刚 劃划 勁劲 動动 務务 勳勋 勵励 協协 參参 員员 問问 啓启 啟启 喬乔 嘯啸 圖图 堅坚 "
    "報报 場场 墾垦 壯壮 壽寿 夢梦 奮奋 婁娄 媽妈 寧宁 實实 審审 寫写 將将 專专 尋寻 對对 導导 "
    "屬属 岡冈 峽峡 崗岗 嶽岳 幫帮 幹干 庫库 廳厅 廠厂 廟庙 彎弯 彥彦 從从 復复 徵征 恆恒 態态 "
    "憂忧 戰战 戶户 擁拥 揚扬 換换 擇择 擔担 據据 數数 斷断 於于 昇升 曄晔 會会 條条 棟栋 極极 "
    "構构 樣样 歐欧 歲岁 溝沟 滄沧 漁渔 潛潜 濃浓 濱滨 灘滩 為为 烏乌 無无 煙烟 熱热 燈灯 營营 "
    "爭争 牆墙 獨独 獲获 琿珲 瑤瑶 畫画 當当 盡尽 監监 碼码 礦矿 祿禄 禪禅 種种 稱称 穩稳 競竞 "
    "築筑 粵粤 糧粮 紡纺 細细 組组 結结 給给 統统 綱纲 網网 緒绪 緣缘 練练 總总 織织 纖纤 羣群 "
    "習习 翹翘 聲声 職职 舉举 舊旧 葦苇 蒼苍 蓋盖 薑姜 藥药 蘋苹 衝冲 見见 規规 訊讯 設设 詠咏 "
    "評评 認认 說说 調调 請请 諸诸 證证 識识 議议 護护 變变 貝贝 貢贡 貫贯 費费 賀贺 資资 賓宾 "
    "賜赐 賞赏 賴赖 跡迹 轉转 輪轮 辦办 邊边 遼辽 適适 選选 遺遗 還还 邁迈 鄰邻 鈴铃 銅铜 銳锐 "
    "鋪铺 鍋锅 鎖锁 鑄铸 閉闭 閒闲 間间 閩闽 闕阙 陝陕 隱隐 雜杂 霧雾 響响 頓顿 領领 頻频 額额 "
    "飄飘 飯饭 養养 饒饶 馳驰 駐驻 騎骑 驕骄 驚惊 魚鱼 鮮鲜 鯉鲤 鳥鸟 鴨鸭 鵝鹅 鶯莺 鷗鸥 鹽盐 "
    "龜龟 婦妇 嬸婶 娛娱 鈕钮 譽誉 儉俭 傳传 備备 價价 匯汇 厲厉 叢丛 圍围 壓压 奧奥 孃娘 寬宽 "
    "寵宠 崑昆 嶼屿 巖岩 幾几 廬庐 彈弹 彙汇 徹彻 戲戏 採采 撫抚 擴扩 擺摆 攜携 敵敌 暢畅 暫暂 "
    "楓枫 檔档 檢检 櫃柜 決决 況况 涼凉 淚泪 淺浅 測测 湯汤 準准 滅灭 漲涨 漸渐 濕湿 瀟潇 爐炉 "
    "獅狮 獻献 瓏珑 畝亩 疊叠 盜盗 眞真 矯矫 磚砖 禍祸 稅税 穀谷 窩窝 箏筝 篤笃 簾帘 籃篮 籌筹 "
    "紋纹 納纳 紐纽 紛纷 終终 絕绝 綜综 緊紧 緞缎 緩缓 編编 緯纬 縮缩 繩绳 繪绘 罰罚 羨羡 翺翱 "
    "聳耸 脫脱 腳脚 膚肤 膠胶 臉脸 臘腊 臨临 荊荆 著着 蓀荪 蔭荫 蕩荡 薈荟 薊蓟 藹蔼 虛虚 術术 "
    "裝装 襯衬 觸触 訂订 託托 訪访 詞词 詢询 誕诞 課课 諒谅 謹谨 譜谱 譯译 讀读 豬猪 貧贫 購购 "
    "贈赠 贏赢 蹤踪 軟软 較较 載载 輔辅 輩辈 輸输 轄辖 迴回 這这 遜逊 違违 醜丑 鋁铝 鍍镀 鑰钥 "
    "鑲镶 閱阅 闖闯 隸隶 雋隽 鞏巩 頒颁 顧顾 餃饺 駕驾 駱骆 驅驱 鬍胡 鬱郁 鯨鲸 鱗鳞 鴉鸦 鷺鹭 "
    "麵面 齋斋 嶸嵘 曇昙 鳶鸢 嵐岚 瀾澜 灝灏 璽玺 璉琏 瓔璎 琺珐 璦瑷 驛驿 燁烨 煒炜 熾炽 燾焘 "
    "濰潍 滸浒 瀅滢 漣涟 漵溆 灤滦 錫锡 鉉铉 鎔镕 鑫鑫 鈿钿 錚铮 鏗铿 鐸铎 闌阑 隴陇 顥颢 颯飒 "
    "馨馨 駒驹 騏骐 驥骥 鵬鹏 鷲鹫 黛黛 嬋婵 嫣嫣 孿孪 巒峦 嶠峤 彌弥 懌怿 摯挚 斕斓 曠旷 朧胧 "
    "槿槿 歆歆 殲歼 滌涤 濛蒙 灃沣 瑯琅 璣玑 瑩莹 甦苏 睿睿 縉缙 繽缤 紳绅 莖茎 蕓芸 藝艺 蘅蘅 "
    "詮诠 諶谌 謨谟 贇赟 軼轶 輿舆 邇迩 鄴邺 釧钏 鈦钛 銓铨 鋭锐 錡锜 鍇锴 鎧铠 鑠铄 閎闳 闈闱 "
    "陞升 雯雯 靚靓 頎颀 顓颛 飈飚 餚肴 騫骞 鬆松 鮫鲛 鴿鸽 鶤鹍 麒麒 黌黉"
)
_TRADITIONAL = {pair[0]: pair[1] for pair in _PAIRS.split() if pair[0] != pair[1]}
_TO_SIMPLIFIED = str.maketrans(_TRADITIONAL)
# One table does it all in C: traditional forms, the middle-dot variants of minority names,
# and the invisible format characters (zero-width spaces, BOM) that copy-paste leaves.
_CLEAN = str.maketrans(
    {
        **_TRADITIONAL,
        **{c: "·" for c in "•・‧∙⋅.．"},
        **{c: None for c in "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"},
    }
)


def to_simplified(text: str) -> str:
    """Map the table's traditional characters to their simplified forms."""
    return text.translate(_TO_SIMPLIFIED)


def clean(text: str | None) -> str:
    """NFKC (full-width -> half-width), no whitespace at all, one middle dot, simplified."""
    if not text:
        return ""
    if text.isascii():
        return "".join(text.split())
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).translate(_CLEAN)


def normalise_name(raw: str | None) -> str:
    """A name as it is compared: cleaned, Latin letters upper-cased (minority transcriptions)."""
    return clean(raw).upper()


@lru_cache(maxsize=200_000)
def pinyin(name: str) -> tuple[str, ...]:
    """Toneless pinyin syllables of a normalised name (homophones compare equal)."""
    if not name:
        return ()
    return tuple(s for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s)


def pinyin_key(name: str) -> str:
    """Syllables joined: the blocking and comparison key of a name's sound."""
    return "".join(pinyin(name))


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams, for address similarity that survives reordering and abbreviations."""
    if len(text) < 2:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity in [0, 1] (pinyin strings: one slip scores about 0.9)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(0, max(len(a), len(b)) // 2 - 1)
    a_hit = [False] * len(a)
    b_hit = [False] * len(b)
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_hit[j] and b[j] == ch:
                a_hit[i] = b_hit[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    a_seq = [ch for ch, hit in zip(a, a_hit, strict=True) if hit]
    b_seq = [ch for ch, hit in zip(b, b_hit, strict=True) if hit]
    transpositions = sum(x != y for x, y in zip(a_seq, b_seq, strict=True)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)
