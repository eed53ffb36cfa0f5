"""English names of the divisions the project's programs run in (GB/T 2260 has Chinese names
only): Zhejiang's cities and Hangzhou's districts and counties, keyed by their Chinese name.
A division missing here keeps its Chinese name on English pages."""

from __future__ import annotations

from typing import Final

ENGLISH: Final[dict[str, str]] = {
    "浙江省": "Zhejiang Province",
    "杭州市": "Hangzhou",
    "宁波市": "Ningbo",
    "温州市": "Wenzhou",
    "嘉兴市": "Jiaxing",
    "湖州市": "Huzhou",
    "绍兴市": "Shaoxing",
    "金华市": "Jinhua",
    "衢州市": "Quzhou",
    "舟山市": "Zhoushan",
    "台州市": "Taizhou",
    "丽水市": "Lishui",
    "上城区": "Shangcheng District",
    "下城区": "Xiacheng District",
    "江干区": "Jianggan District",
    "拱墅区": "Gongshu District",
    "西湖区": "Xihu District",
    "滨江区": "Binjiang District",
    "萧山区": "Xiaoshan District",
    "余杭区": "Yuhang District",
    "富阳区": "Fuyang District",
    "临安区": "Lin'an District",
    "临平区": "Linping District",
    "钱塘区": "Qiantang District",
    "桐庐县": "Tonglu County",
    "淳安县": "Chun'an County",
    "建德市": "Jiande City",
    "富阳市": "Fuyang City",
    "临安市": "Lin'an City",
}
